"""The base of every Mavi operator: the connection, the retry settings, the hooks, and the spend log."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk import BaseOperator

from airflow_provider_mavi.hooks.task import MaviTaskMixin

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow.sdk import Context

#: XCom key with each task's price in dollars (null when unknown); summed for the run's spend.
COST_XCOM_KEY = "mavi_cost_usd"


class MaviBaseOperator(MaviTaskMixin, BaseOperator):
    """Base of the Mavi operators: the connection, per-request retry settings, and cached hooks.

    :param mavi_conn_id: the ``mavi`` connection. (templated)
    :param mavi_retry_attempts: attempts in all for a failed request to Mavi or the bridge (default 3);
        Airflow's own ``retries`` / ``retry_delay`` still retry the whole task.
    :param mavi_retry_delay: the first backoff between those attempts, in seconds (default 1; it doubles).
    """

    template_fields: Sequence[str] = ("mavi_conn_id",)

    def __init__(
        self,
        *,
        mavi_conn_id: str = "mavi_default",
        mavi_retry_attempts: int | None = None,
        mavi_retry_delay: float | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.init_mavi(mavi_conn_id, mavi_retry_attempts, mavi_retry_delay)


def log_spend(context: Context, cost_usd: float | None, operator: BaseOperator) -> None:
    """Push this task's price (XCom ``mavi_cost_usd``) and log the DAG run's running spend.

    :param context: the task's context.
    :param cost_usd: this task's price, None when unknown.
    :param operator: the operator, for logging.
    """
    ti = context["ti"]
    ti.xcom_push(key=COST_XCOM_KEY, value=cost_usd)
    try:
        task_ids = list(context["dag"].task_ids)
        values = ti.xcom_pull(task_ids=task_ids, key=COST_XCOM_KEY)
    except Exception as error:  # the spend is informative: never fail a paid task over it
        operator.log.warning("Could not sum the run's Mavi spend: %s", error)
        return
    values = values if isinstance(values, list) else [values]
    known = [float(v) for v in values if isinstance(v, (int, float)) and not isinstance(v, bool)]
    unknown = sum(1 for v in values if v is None)
    operator.log.info(
        "Mavi spend of this task: %s; of this DAG run so far: $%.4f over %d priced task(s)%s",
        "unknown" if cost_usd is None else f"${cost_usd:.4f}",
        sum(known),
        len(known),
        f" (and {unknown} task(s) without a known price)" if unknown else "",
    )
