"""The provider as Airflow's own commands see it: ``airflow providers`` lists it, the plugin loads once.

These start the ``airflow`` CLI in a subprocess, so they are integration tests.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

AIRFLOW_CLI = str(Path(sys.executable).with_name("airflow"))


def _airflow(*args: str, home: Path) -> str:
    env = {**os.environ, "AIRFLOW_HOME": str(home), "AIRFLOW__CORE__LOAD_EXAMPLES": "False"}
    done = subprocess.run(
        [AIRFLOW_CLI, *args, "--output", "json"], env=env, capture_output=True, text=True, timeout=180
    )
    assert done.returncode == 0, done.stderr[-2000:]
    return done.stdout


def test_airflow_providers_commands_show_the_provider(tmp_path: Path) -> None:
    providers = json.loads(_airflow("providers", "list", home=tmp_path))
    assert any(p["package_name"] == "airflow-provider-mavi" for p in providers)
    hooks = json.loads(_airflow("providers", "hooks", home=tmp_path))
    mavi = [h for h in hooks if h.get("connection_type") == "mavi"]
    assert mavi, hooks
    assert mavi[0]["class"] == "airflow_provider_mavi.hooks.mavi.MaviHook"


def test_bridge_plugin_is_registered_once(tmp_path: Path) -> None:
    env = {
        **os.environ,
        "AIRFLOW_HOME": str(tmp_path),
        "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
        "AIRFLOW__CORE__LAZY_DISCOVER_PROVIDERS": "False",
    }
    code = (
        "from airflow import plugins_manager as pm\n"
        "plugins, errors = pm._get_plugins()\n"
        # only ours: the OpenLineage provider (the [openlineage] extra) registers its own plugin twice
        "print([p.name for p in plugins].count('mavi_bridge'), len([e for e in errors if 'mavi' in e]))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["1", "0"]
