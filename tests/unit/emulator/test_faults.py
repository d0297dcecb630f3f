"""Fault rules: validation, next-N counts, probabilities reproducible with a seed."""

from __future__ import annotations

import pytest

from airflow_provider_mavi.emulator.faults import FaultConfigError, FaultInjector


@pytest.mark.parametrize(
    ("config", "message"),
    [
        ([], "must be a JSON object"),
        ({"nope": {}}, "unknown fault 'nope'"),
        ({"drop_callback": 1}, "must be an object"),
        ({"drop_callback": {"probability": 1.5}}, "probability must be a number from 0 to 1"),
        ({"drop_callback": {"probability": True}}, "probability must be a number from 0 to 1"),
        ({"drop_callback": {"next": 1.5}}, "next must be a non-negative integer"),
        ({"drop_callback": {"colour": "red"}}, "unknown option(s) ['colour']"),
        ({"drop_callback": {"endpoints": ["POST /upload"]}}, "request faults only"),
        ({"server_error": {"endpoints": "POST /upload"}}, "endpoints must be a list"),
        ({"server_error": {"status": "500"}}, "status must be a non-negative number"),
        ({"server_error": {"after": 1}}, "after must be true or false"),
        ({"callback_delay": {"seconds": -1}}, "seconds must be a non-negative number"),
        ({"rate_limit": {"status": 500}}, "status must be 400 or 429"),
    ],
)
def test_invalid_configs_are_refused_and_change_nothing(config, message):
    faults = FaultInjector(seed=1)
    faults.configure({"drop_callback": {"next": 2}})
    with pytest.raises(FaultConfigError) as error:
        faults.configure(config)
    assert message in str(error.value)
    assert faults.describe()["drop_callback"]["next"] == 2


def test_next_n_then_probability():
    faults = FaultInjector(seed=1)
    faults.configure({"server_error": {"next": 2, "status": 503}})
    assert faults.decide("server_error", "POST /upload") == {"status": 503, "after": False}
    assert faults.decide("server_error", "GET /{asset_id}/metadata") is not None
    assert faults.decide("server_error", "POST /upload") is None
    assert faults.describe()["server_error"] == {
        "probability": 0.0,
        "next": 0,
        "fired": 2,
        "status": 503,
        "after": False,
    }
    assert faults.decide("drop_callback") is None  # not configured


def test_endpoint_filter():
    faults = FaultInjector(seed=1)
    faults.configure({"connection_reset": {"next": 1, "endpoints": ["POST /upload"]}})
    assert faults.decide("connection_reset", "GET /{asset_id}/metadata") is None
    assert faults.decide("connection_reset", "POST /upload") is not None


def test_probability_is_reproducible_with_a_seed():
    def run(seed):
        faults = FaultInjector(seed=seed)
        faults.configure({"drop_callback": {"probability": 0.3}, "duplicate_callback": {"probability": 0.5}})
        return [tuple(sorted(k for k, v in faults.decide_job().items() if v is not None)) for _ in range(200)]

    first, second, other = run(42), run(42), run(43)
    assert first == second
    assert first != other
    drops = sum("drop_callback" in d for d in first)
    assert 30 < drops < 90  # about 30% of 200


def test_empty_config_clears():
    faults = FaultInjector()
    faults.configure({"rate_limit": {"probability": 1}})
    assert faults.decide("rate_limit", "POST /upload") == {"status": 0}
    faults.configure({})
    assert faults.decide("rate_limit", "POST /upload") is None
