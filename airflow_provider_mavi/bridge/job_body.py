"""
Checks of the job fields the operators send beside ``kind``/``asset_id``/``key`` (``PUT /v1/jobs/{job_id}``),
and of the price they record once a job is done (``POST /v1/jobs/{job_id}/cost``). Pure: a bad value raises
``ValueError`` with the message the client gets in its 400.
"""

from __future__ import annotations

import math
from typing import Any

from airflow_provider_mavi.bridge.store.schema import AIRFLOW_ID_MAX

#: The largest price a job may record: far above any real job, small enough to catch a unit mistake.
MAX_COST_USD = 1_000_000.0


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    number = float(value)
    return number if math.isfinite(number) else None


def task_fields(body: dict[str, Any]) -> dict[str, Any]:
    """
    Return the optional Airflow task and deadline of a job record, checked.

    ``dag_id``, ``run_id``, ``task_id``: strings of 1 to 250 characters, or null; ``map_index``: an integer
    >= -1, or null; ``deadline``: epoch seconds (a positive finite number), or null. Absent means null.

    :param body: the request's JSON object.
    :raises ValueError: naming the field and what it must be.
    """
    fields: dict[str, Any] = {}
    for name in ("dag_id", "run_id", "task_id"):
        value = body.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= AIRFLOW_ID_MAX):
            raise ValueError(f"{name} must be a string of 1 to {AIRFLOW_ID_MAX} characters, or null")
        fields[name] = value
    map_index = body.get("map_index")
    if map_index is not None and (
        isinstance(map_index, bool) or not isinstance(map_index, int) or map_index < -1
    ):
        raise ValueError("map_index must be an integer >= -1, or null")
    fields["map_index"] = map_index
    deadline = body.get("deadline")
    if deadline is not None:
        deadline = _number(deadline)
        if deadline is None or deadline <= 0:
            raise ValueError("deadline must be epoch seconds (a positive number), or null")
    fields["deadline"] = deadline
    return fields


def cost_usd(body: Any) -> float | None:
    """
    Return the price of ``{"cost_usd": number | null}``, checked.

    :param body: the request's JSON.
    :raises ValueError: when it is not that object, or the number is negative, not finite or absurd.
    """
    if not isinstance(body, dict) or "cost_usd" not in body:
        raise ValueError('the body must be {"cost_usd": dollars or null}')
    raw = body["cost_usd"]
    if raw is None:
        return None
    value = _number(raw)
    if value is None or not 0 <= value <= MAX_COST_USD:
        raise ValueError(f"cost_usd must be a number of dollars from 0 to {MAX_COST_USD:g}, or null")
    return value
