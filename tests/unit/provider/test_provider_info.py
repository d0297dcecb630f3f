"""The provider metadata Airflow reads: valid, importable, and shown by the ``airflow providers`` commands."""

from __future__ import annotations

import importlib
import json
import os
import subprocess
import sys
from importlib.metadata import distribution
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_mavi.get_provider_info import get_provider_info

AIRFLOW_CLI = str(Path(sys.executable).with_name("airflow"))


def test_provider_info_matches_airflows_schema() -> None:
    schema = json.loads((Path(airflow.__file__).parent / "provider_info.schema.json").read_text())
    jsonschema.validate(get_provider_info(), schema)


def test_package_name_is_the_installed_distribution() -> None:
    info = get_provider_info()
    dist = distribution(info["package-name"])
    assert dist.metadata["Name"] == "airflow-provider-mavi"
    assert info["versions"][0] == dist.version


@pytest.mark.parametrize("section", ["hooks", "operators", "triggers", "sensors"])
def test_every_declared_module_imports(section: str) -> None:
    for entry in get_provider_info()[section]:
        for module in entry["python-modules"]:
            importlib.import_module(module)


def test_connection_type_points_at_the_hook() -> None:
    (conn,) = get_provider_info()["connection-types"]
    module, _, name = conn["hook-class-name"].rpartition(".")
    hook_class = getattr(importlib.import_module(module), name)
    assert hook_class.conn_type == conn["connection-type"] == "mavi"
    assert hook_class.default_conn_name == "mavi_default"
    assert set(conn["conn-fields"]) == {
        "bridge_url",
        "bridge_token",
        "timeout",
        "max_requests_per_second",
        "rate_limit_scope",
        "rate_limit_url",
    }
    assert conn["conn-fields"]["bridge_token"]["schema"]["format"] == "password"


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
        "print([p.name for p in plugins].count('mavi_bridge'), len(errors))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-2:] == ["1", "0"]
