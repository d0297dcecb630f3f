"""Fixtures shared by the whole suite.

The emulator's pytest plugin (the same one users load for their own DAG tests) gives ``mavi_emulator``,
``sample_video`` and friends. pytest only accepts ``pytest_plugins`` in this top-level conftest.
"""

from __future__ import annotations

pytest_plugins = ["airflow_provider_mavi.emulator.pytest_plugin"]
