"""A program may import any provider module before Airflow: the first import must not be circular.

Airflow reads every provider's ``get_provider_info`` the first time a process imports it. If that metadata
imported the module being imported, ``from airflow_provider_mavi.hooks.settings import ...`` as a script's
first line failed with "partially initialized module". Each module is imported first in a fresh interpreter.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest


@pytest.mark.parametrize(
    "module",
    [
        "airflow_provider_mavi.exceptions",
        "airflow_provider_mavi.endpoints",
        "airflow_provider_mavi.hooks.settings",
        "airflow_provider_mavi.hooks",
        "airflow_provider_mavi.operators",
        "airflow_provider_mavi.triggers",
        "airflow_provider_mavi.sensors",
        "airflow_provider_mavi.get_provider_info",
    ],
)
def test_a_provider_module_imports_first_in_a_fresh_process(module: str, tmp_path: os.PathLike[str]) -> None:
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [sys.executable, "-c", f"import {module}"], env=env, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "partially initialized" not in done.stderr
