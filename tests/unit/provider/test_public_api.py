"""The public surface: the modules the README's "Public API" lists, and the example DAGs use nothing else.

Users copy the example DAGs as they are, so every provider name a DAG imports must be one the README
promises to keep stable: a module listed below, a name in its ``__all__``.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[3]

#: The README's "Public API" section, module by module.
PUBLIC_MODULES = (
    "airflow_provider_mavi.hooks.mavi",
    "airflow_provider_mavi.hooks.bridge",
    "airflow_provider_mavi.operators.mavi",
    "airflow_provider_mavi.sensors.mavi",
    "airflow_provider_mavi.triggers.mavi",
    "airflow_provider_mavi.exceptions",
    "airflow_provider_mavi.endpoints",
    "airflow_provider_mavi.paths",
    "airflow_provider_mavi.media",
    "airflow_provider_mavi.contact_sheet",
    "airflow_provider_mavi.insights",
    "airflow_provider_mavi.asset_uris",
    "airflow_provider_mavi.callback_events",
    "airflow_provider_mavi.compat",
)


def _provider_imports(path: Path) -> list[tuple[str, str]]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: list[tuple[str, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("airflow_provider_mavi"):
            found.extend((node.module or "", alias.name) for alias in node.names)
        elif isinstance(node, ast.Import):
            found.extend(
                (alias.name, "*") for alias in node.names if alias.name.startswith("airflow_provider_mavi")
            )
    return found


@pytest.mark.parametrize("module_name", PUBLIC_MODULES)
def test_every_public_module_declares_what_it_exports(module_name: str) -> None:
    module = importlib.import_module(module_name)
    exported = getattr(module, "__all__", None)
    assert exported, f"{module_name} has no __all__"
    missing = [name for name in exported if not hasattr(module, name)]
    assert not missing, f"{module_name}.__all__ names what it does not define: {missing}"


@pytest.mark.parametrize("dag_file", sorted((ROOT / "dags").glob("*.py")), ids=lambda p: p.name)
def test_example_dags_import_only_the_public_surface(dag_file: Path) -> None:
    private = []
    for module_name, name in _provider_imports(dag_file):
        if module_name not in PUBLIC_MODULES:
            private.append(f"{module_name} (not a public module)")
            continue
        exported = importlib.import_module(module_name).__all__
        if name not in exported:
            private.append(f"{module_name}.{name} (not in its __all__)")
    assert not private, f"{dag_file.name} imports private names: {private}"


def test_the_readme_lists_every_public_module() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Public API", 1)[1].split("\n## ", 1)[0]
    unlisted = [name for name in PUBLIC_MODULES if f"`{name}`" not in section]
    assert not unlisted, f"the README's Public API section does not list {unlisted}"
