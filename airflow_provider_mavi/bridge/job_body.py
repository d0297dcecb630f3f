"""
Checks of the job fields the operators send beside ``kind``/``asset_id``/``key`` (``PUT /v1/jobs/{job_id}``),
and of the price they record once a job is done (``POST /v1/jobs/{job_id}/cost``). Pure: a bad value raises
:class:`~airflow_provider_mavi.bridge.checks.InvalidInput` (a ``ValueError``) with the message the client gets
in its 400. Every bound is one the stores can hold and the answers can render: ids without control characters
(PostgreSQL refuses NUL), a map index within the 32-bit column, a deadline within year 9999.
"""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_mavi.bridge.checks import InvalidInput, check_text
from airflow_provider_mavi.bridge.store.schema import AIRFLOW_ID_MAX

#: The largest price a job may record: far above any real job, small enough to catch a unit mistake.
MAX_COST_USD = 1_000_000.0
#: The largest map index (the column is a 32-bit integer on PostgreSQL).
MAP_INDEX_MAX = 2**31 - 1
#: The latest deadline: 9999-12-31T23:59:59Z (a later one cannot be rendered as a date).
DEADLINE_MAX = 253_402_300_799.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def task_fields(body: dict[str, Any]) -> dict[str, Any]:
    """
    Return the optional Airflow task and deadline of a job record, checked.

    ``dag_id``, ``run_id``, ``task_id``: strings of 1 to 250 characters without control characters, or null;
    ``map_index``: an integer from -1 to 2^31-1, or null; ``deadline``: epoch seconds (a positive finite
    number, at most :data:`DEADLINE_MAX`), or null. Absent means null.

    :param body: the request's JSON object.
    :raises InvalidInput: naming the field and what it must be.
    """
    fields: dict[str, Any] = {}
    for name in ("dag_id", "run_id", "task_id"):
        value = body.get(name)
        if value is not None:
            if not isinstance(value, str) or not 0 < len(value) <= AIRFLOW_ID_MAX:
                raise InvalidInput(f"{name} must be a string of 1 to {AIRFLOW_ID_MAX} characters, or null")
            check_text(value, name, AIRFLOW_ID_MAX, names=True)
        fields[name] = value
    map_index = body.get("map_index")
    if map_index is not None and (
        isinstance(map_index, bool) or not isinstance(map_index, int) or not -1 <= map_index <= MAP_INDEX_MAX
    ):
        raise InvalidInput(f"map_index must be an integer from -1 to {MAP_INDEX_MAX}, or null")
    fields["map_index"] = map_index
    deadline = body.get("deadline")
    if deadline is not None:
        deadline = _number(deadline)
        if deadline is None or not 0 < deadline <= DEADLINE_MAX:
            raise InvalidInput(
                f"deadline must be epoch seconds (a positive number, at most {DEADLINE_MAX:.0f}), or null"
            )
    fields["deadline"] = deadline
    return fields


def cost_usd(body: Any) -> float | None:
    """
    Return the price of ``{"cost_usd": number | null}``, checked.

    :param body: the request's JSON.
    :raises InvalidInput: when it is not that object, or the number is negative, not finite or absurd.
    """
    if not isinstance(body, dict) or "cost_usd" not in body:
        raise InvalidInput('the body must be {"cost_usd": dollars or null}')
    raw = body["cost_usd"]
    if raw is None:
        return None
    value = _number(raw)
    if value is None or not 0 <= value <= MAX_COST_USD:
        raise InvalidInput(f"cost_usd must be a number of dollars from 0 to {MAX_COST_USD:g}, or null")
    return value
