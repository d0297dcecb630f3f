"""``open_store(db_url)``: the store a URL names. A new backend is one entry in :data:`BACKENDS`."""

from __future__ import annotations

from typing import TYPE_CHECKING

import sqlalchemy as sa

from airflow_provider_mavi.bridge.store.postgres import PostgresStore
from airflow_provider_mavi.bridge.store.protocol import StoreError
from airflow_provider_mavi.bridge.store.sqlite import SQLiteStore

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy.engine import URL

    from airflow_provider_mavi.bridge.store.protocol import CallbackStore

#: SQLAlchemy backend name -> the class that opens it (it checks the rest of the URL).
BACKENDS: dict[str, Callable[[URL], CallbackStore]] = {
    "sqlite": SQLiteStore,
    "postgresql": PostgresStore,
}


def open_store(db_url: str) -> CallbackStore:
    """
    Open the store ``db_url`` names (no query runs yet: call ``ensure_schema()`` before use).

    :param db_url: ``sqlite:///path/to/bridge.sqlite3``, ``postgresql://...`` (psycopg 3) or
        ``postgresql+psycopg2://...``.
    """
    try:
        url = sa.engine.make_url(db_url)
    except sa.exc.ArgumentError:
        raise StoreError("the store URL is not a URL: use sqlite:///path or postgresql://...") from None
    backend = url.get_backend_name()
    if backend not in BACKENDS:
        raise StoreError(f"unsupported store {backend!r}: use sqlite:/// or postgresql://")
    return BACKENDS[backend](url)
