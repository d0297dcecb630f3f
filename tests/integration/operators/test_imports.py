"""A fresh interpreter can import each public module first (Airflow's provider discovery re-enters ours)."""

from __future__ import annotations

import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "airflow_provider_mavi.exceptions",
        "airflow_provider_mavi.events",
        "airflow_provider_mavi.hooks.bridge",
        "airflow_provider_mavi.operators.mavi",
        "airflow_provider_mavi.sensors.mavi",
        "airflow_provider_mavi.triggers.mavi",
    ],
)
def test_module_imports_first_in_a_fresh_interpreter(module: str) -> None:
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_nothing_but_the_service_and_tests_imports_the_bridge_package() -> None:
    """Operators, sensors, triggers and hooks never import the bridge service (layering)."""
    code = (
        "import sys, airflow_provider_mavi.operators.mavi, airflow_provider_mavi.sensors.mavi, "
        "airflow_provider_mavi.triggers.mavi, airflow_provider_mavi.hooks.bridge; "
        "print(sorted(m for m in sys.modules if m.startswith('airflow_provider_mavi.bridge')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.strip().splitlines()[-1] == "[]"
