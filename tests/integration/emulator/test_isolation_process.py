"""The emulator loads without Airflow, checked in a fresh interpreter (a subprocess: an integration test)."""

from __future__ import annotations

import subprocess
import sys


def test_loading_it_does_not_load_airflow():
    code = (
        "import sys, airflow_provider_mavi.emulator.app, airflow_provider_mavi.emulator.testing, "
        "airflow_provider_mavi.emulator.cli, airflow_provider_mavi.emulator.pytest_plugin\n"
        "print(sorted(m for m in sys.modules if m == 'airflow' or m.startswith('airflow.')))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
