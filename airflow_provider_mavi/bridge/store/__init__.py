"""
The bridge's durable inbox: the :class:`CallbackStore` protocol and ``open_store(db_url)``.

Modules: ``protocol.py`` (the operations the service needs), ``records.py`` (what goes in and comes out),
``schema.py`` (tables, version, migrations), ``batch.py`` (a batch as set-based writes), ``sql.py`` (what the
SQL backends share), ``sqlite.py`` and ``postgres.py`` (the backends), ``notify.py`` (PostgreSQL
``LISTEN``/``NOTIFY``), ``factory.py`` (``open_store``).
"""

from __future__ import annotations

from airflow_provider_mavi.bridge.store.factory import open_store
from airflow_provider_mavi.bridge.store.protocol import CallbackStore, StoreError, StoreWatch
from airflow_provider_mavi.bridge.store.records import (
    JOB_ABANDONED,
    JOB_DELIVERED,
    JOB_ID_MAX,
    JOB_WAITING,
    IncomingCallback,
    JobSubmission,
    PurgeCounts,
    ReceivedCallback,
    SpendRow,
    StoredCallback,
    StoredConsumer,
    StoredDelivery,
    StoredJob,
    WriteResult,
    is_terminal,
    iso_utc,
)
from airflow_provider_mavi.bridge.store.schema import SCHEMA_VERSION

__all__ = [
    "JOB_ABANDONED",
    "JOB_DELIVERED",
    "JOB_ID_MAX",
    "JOB_WAITING",
    "SCHEMA_VERSION",
    "CallbackStore",
    "IncomingCallback",
    "JobSubmission",
    "PurgeCounts",
    "ReceivedCallback",
    "SpendRow",
    "StoreError",
    "StoreWatch",
    "StoredCallback",
    "StoredConsumer",
    "StoredDelivery",
    "StoredJob",
    "WriteResult",
    "is_terminal",
    "iso_utc",
    "open_store",
]
