"""Pytest fixtures for testing DAGs and code against the emulator.

Load it with ``pytest_plugins = ["airflow_provider_mavi.emulator.pytest_plugin"]`` in a ``conftest.py``.

- ``mavi_emulator``: a running :class:`~airflow_provider_mavi.emulator.testing.EmulatorServer`
  (function scope) whose webhook is ``mavi_callbacks``; override the ``mavi_emulator_settings`` fixture
  to change its settings.
- ``mavi_callbacks``: a :class:`~airflow_provider_mavi.emulator.testing.CallbackReceiver` (function scope).
- ``sample_video``: the path of a short real MP4 made with PyAV (session scope, 6 s, 320x240, with sound).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest

from airflow_provider_mavi.emulator.samples import make_sample_video
from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer

if TYPE_CHECKING:
    from collections.abc import Iterator
    from pathlib import Path


@pytest.fixture
def mavi_emulator_settings() -> dict[str, Any]:
    """Settings for ``mavi_emulator``; override this fixture to change them (e.g. ``{"qps": 5}``)."""
    return {}


@pytest.fixture
def mavi_callbacks() -> Iterator[CallbackReceiver]:
    """A webhook receiver on loopback that records every callback."""
    with CallbackReceiver() as receiver:
        yield receiver


@pytest.fixture
def mavi_emulator(
    mavi_callbacks: CallbackReceiver, mavi_emulator_settings: dict[str, Any], tmp_path: Path
) -> Iterator[EmulatorServer]:
    """A running emulator (key ``sk-test``) whose account webhook is ``mavi_callbacks``."""
    settings = {
        "webhook_url": mavi_callbacks.url,
        "data_dir": tmp_path / "mavi-emulator",
        **mavi_emulator_settings,
    }
    with EmulatorServer(**settings) as server:
        yield server


@pytest.fixture(scope="session")
def sample_video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 6-second 320x240 H.264 MP4 with moving shapes and a tone track."""
    return make_sample_video(tmp_path_factory.mktemp("mavi-sample") / "sample.mp4")
