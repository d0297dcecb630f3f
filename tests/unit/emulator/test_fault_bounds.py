"""Fault options are bounded: an injected fault ends within a test's lifetime and answers a real 5xx."""

from __future__ import annotations

import pytest

from airflow_provider_mavi.emulator.faults import FaultConfigError, FaultInjector


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ({"server_error": {"status": 200}}, "status must be an integer from 500 to 599"),
        ({"server_error": {"status": 1e300}}, "status must be an integer from 500 to 599"),
        ({"slow_response": {"seconds": 1e300}}, "seconds must be at most 3600"),
        ({"callback_delay": {"seconds": 86400}}, "seconds must be at most 3600"),
        ({"duplicate_callback": {"copies": 10**9}}, "copies must be at most 100"),
        ({"duplicate_callback": {"copies": 1.5}}, "copies must be an integer"),
        ({"failure_callback": {"code": 0.5}}, "code must be an integer"),
        ({"failure_callback": {"msg": ["x"]}}, "msg must be a string"),
    ],
)
def test_fault_options_are_bounded(config, message):
    with pytest.raises(FaultConfigError, match=message):
        FaultInjector().configure(config)
