"""The emulator stands alone: nothing from the rest of the provider, no Airflow, and keys stay hidden."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

from airflow_provider_mavi.emulator.settings import API_KEY_ENV, EmulatorSettings

EMULATOR = Path(__file__).resolve().parents[3] / "airflow_provider_mavi" / "emulator"


def test_imports_nothing_from_the_rest_of_the_provider():
    for source in EMULATOR.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert name.split(".")[0] != "airflow", (source.name, name)
                if name.startswith("airflow_provider_mavi"):
                    assert name.startswith("airflow_provider_mavi.emulator"), (source.name, name)


def test_settings_hide_the_key_and_check_values(monkeypatch):
    settings = EmulatorSettings(api_key="sk-secret-value")
    assert "sk-secret-value" not in repr(settings)
    monkeypatch.setenv(API_KEY_ENV, "sk-from-env")
    assert EmulatorSettings.from_env().api_key == "sk-from-env"
    monkeypatch.delenv(API_KEY_ENV)
    with pytest.raises(ValueError, match="API key is required"):
        EmulatorSettings.from_env()
    for bad in (
        {"success_code": "200"},
        {"rate_limit_style": 500},
        {"qps": 0},
        {"frame_interval": -1},
        {"callback_attempts": 0},
        {"faults": {"boom": {}}},
    ):
        with pytest.raises(ValueError):
            EmulatorSettings(api_key="k", **bad)


def test_cli_flags_reach_the_settings(monkeypatch):
    from airflow_provider_mavi.emulator import cli

    monkeypatch.setenv(API_KEY_ENV, "sk-cli")
    argv = ["serve", "--split-seconds", "10", "--fetch-max-bytes", "1000", "--fetch-timeout", "5"]
    argv += ["--text-embedding-shape", "plural", "--no-vlm-json-fence"]
    settings = cli._settings(cli._parser().parse_args(argv))
    assert (settings.split_seconds, settings.fetch_max_bytes, settings.fetch_timeout) == (10, 1000, 5)
    assert (settings.text_embedding_shape, settings.vlm_json_fence) == ("plural", False)
    defaults = cli._settings(cli._parser().parse_args(["serve"]))
    assert (defaults.split_seconds, defaults.text_embedding_shape, defaults.vlm_json_fence) == (
        60,
        "array",
        True,
    )
    for bad in ({"split_seconds": 0.5}, {"fetch_timeout": 0}, {"text_embedding_shape": "nested"}):
        with pytest.raises(ValueError):
            EmulatorSettings(api_key="k", **bad)
