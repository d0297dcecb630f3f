"""Every import that differs between the Airflow versions the provider supports: 3.1, 3.2 and 3.3.

The provider, the example DAGs and the tests import these names from here, never from their moving homes, so
a DAG copied from ``dags/`` runs on any supported Airflow. A new version-dependent import goes here too, with
the version that moved it. ``make compat-test`` runs the unit tests, the example DAGs' import and the pipeline
DAG on Airflow 3.1.8; ``make test`` runs everything on the pinned 3.3.

What moved (the first version of the new home in brackets):

- ``CronDataIntervalTimetable``: ``airflow.timetables.interval`` (core) -> ``airflow.sdk`` [3.2].
- ``TaskDeferred``: ``airflow.exceptions`` (core) -> ``airflow.sdk.exceptions`` [3.2]; what ``defer()``
  raises, so tests of deferrable operators catch it.
- ``conf``: ``airflow.configuration`` (core) -> ``airflow.sdk.configuration`` [3.2]; workers read the task
  SDK's configuration.
- ``DagBag``: ``airflow.models.dagbag`` -> ``airflow.dag_processing.dagbag`` [3.2]; core only, for tests and
  tools (:func:`dag_bag_class`), never imported when a task runs.
- ``ObjectStoragePath`` is a ``pathlib.Path`` subclass on 3.1 (universal-pathlib < 0.3), not from 3.2
  (>= 0.3.8): on 3.1 ``os.fspath()`` of a local one is its ``file://`` URL, and ``isinstance(x, Path)``
  does not tell a plain local path. :func:`is_plain_path` does, on every version. Its connection id is the
  ``conn_id`` attribute from 3.2, only ``storage_options["conn_id"]`` on 3.1: :func:`storage_conn_id`.
- ``airflow.triggers.shared_stream`` (a trigger's shared stream with an ack channel) is new [3.3]:
  :data:`HAS_SHARED_STREAMS`; before, ``SharedStreamProducer`` is ``object`` and an event trigger runs its own
  ``run()`` (``triggers/events.py``).
- ``NEVER_EXPIRE`` and the ``task_state_store`` context entry are new [3.3]. Before, there is no store:
  :data:`HAS_TASK_STATE_STORE` is False, ``context.get("task_state_store")`` is None, and the operators fall
  back to the bridge's job record (``operators/ledger.py``) so a retry still never pays twice.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath
from typing_extensions import TypeIs

if TYPE_CHECKING:
    from datetime import timedelta

    from airflow.sdk import CronDataIntervalTimetable
    from airflow.sdk.configuration import conf
    from airflow.sdk.exceptions import TaskDeferred
    from airflow.triggers.shared_stream import SharedStreamProducer

    HAS_SHARED_STREAMS: bool
else:
    try:  # Airflow >= 3.2
        from airflow.sdk import CronDataIntervalTimetable
    except ImportError:  # Airflow 3.1
        from airflow.timetables.interval import CronDataIntervalTimetable

    try:  # Airflow >= 3.2
        from airflow.sdk.exceptions import TaskDeferred
    except ImportError:  # Airflow 3.1
        from airflow.exceptions import TaskDeferred

    try:  # Airflow >= 3.2
        from airflow.sdk.configuration import conf
    except ImportError:  # Airflow 3.1
        from airflow.configuration import conf

    try:  # Airflow >= 3.3
        from airflow.triggers.shared_stream import SharedStreamProducer

        HAS_SHARED_STREAMS = True
    except ImportError:  # Airflow 3.1 and 3.2: event triggers run their own run()
        SharedStreamProducer = object
        HAS_SHARED_STREAMS = False

#: The retention that keeps a task state store value for the life of the task instance (None before 3.3,
#: where nothing calls the store).
NEVER_EXPIRE: timedelta | None = None
try:  # Airflow >= 3.3
    from airflow.sdk.execution_time.context import NEVER_EXPIRE as _NEVER_EXPIRE
except ImportError:  # Airflow 3.1 and 3.2: no task state store
    HAS_TASK_STATE_STORE = False
else:
    NEVER_EXPIRE = _NEVER_EXPIRE
    HAS_TASK_STATE_STORE = True

__all__ = [
    "HAS_SHARED_STREAMS",
    "HAS_TASK_STATE_STORE",
    "NEVER_EXPIRE",
    "CronDataIntervalTimetable",
    "SharedStreamProducer",
    "TaskDeferred",
    "conf",
    "dag_bag_class",
    "is_plain_path",
    "storage_conn_id",
]


def is_plain_path(location: object) -> TypeIs[Path]:
    """Tell a local ``pathlib.Path`` from an ``ObjectStoragePath`` (a ``Path`` subclass on Airflow 3.1).

    :param location: what the caller holds.
    """
    return isinstance(location, Path) and not isinstance(location, ObjectStoragePath)


def storage_conn_id(path: ObjectStoragePath) -> str | None:
    """Return the Airflow connection an ``ObjectStoragePath`` uses (``s3://conn_id@bucket/...``), or None.

    :param path: the path.
    """
    conn_id = getattr(path, "conn_id", None) or path.storage_options.get("conn_id")
    return str(conn_id) if conn_id else None


def dag_bag_class() -> type[Any]:
    """Return Airflow's ``DagBag`` class (core and heavy: for tests and tools, never in a running task)."""
    try:  # Airflow >= 3.2
        from airflow.dag_processing.dagbag import DagBag
    except ImportError:  # Airflow 3.1
        from airflow.models.dagbag import DagBag  # type: ignore[no-redef]
    return DagBag
