"""The provider metadata Airflow reads: valid, importable, and shown by the ``airflow providers`` commands."""

from __future__ import annotations

import importlib
import json
from importlib.metadata import distribution
from pathlib import Path

import airflow
import jsonschema
import pytest

from airflow_provider_mavi.get_provider_info import get_provider_info


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
        "bridge_public_url",
        "timeout",
        "max_requests_per_second",
        "rate_limit_scope",
        "rate_limit_url",
    }
    assert conn["conn-fields"]["bridge_token"]["schema"]["format"] == "password"
