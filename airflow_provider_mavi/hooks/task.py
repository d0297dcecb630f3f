"""What every Mavi operator and sensor shares to reach Mavi and the bridge: the connection, the retry
settings, the hooks built from them, and the check of a rendered id.

Operators and sensors do not import each other; both mix :class:`MaviTaskMixin` in.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any, NoReturn

from airflow_provider_mavi.events import AssetEvent, defer_timeout, raise_for_event
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.bridge import MaviBridgeHook
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy

if TYPE_CHECKING:
    from airflow.sdk import Context
    from airflow.triggers.base import BaseTrigger

__all__ = ["MaviTaskMixin", "require_id"]


def require_id(value: object, name: str) -> str:
    """Return a rendered id field, or fail before anything is sent or deferred.

    :param value: the rendered value.
    :param name: the field's name, for the message.
    :raises MaviOperatorError: for anything but a non-empty string.
    """
    if not isinstance(value, str) or not value.strip():
        raise MaviOperatorError(f"{name} must be a non-empty string, got {value!r}")
    return value.strip()


class MaviTaskMixin:
    """The connection, the retry settings and the hooks of a Mavi operator or sensor.

    Put it before ``BaseOperator`` / ``BaseSensorOperator`` and call :meth:`init_mavi` from ``__init__``.
    The task's own ``retries`` / ``retry_delay`` (Airflow's, for the whole task) are left alone: these
    settings are for each request to Mavi and the bridge.
    """

    mavi_conn_id: str
    mavi_retry_attempts: int | None
    mavi_retry_delay: float | None
    mavi_retry_policy: RetryPolicy

    def init_mavi(
        self, mavi_conn_id: str, mavi_retry_attempts: int | None, mavi_retry_delay: float | None
    ) -> None:
        """Store and check the settings (a bad value fails when the DAG is parsed, not at run time).

        :param mavi_conn_id: the ``mavi`` connection.
        :param mavi_retry_attempts: attempts in all for a failed request (None: the default, 3).
        :param mavi_retry_delay: the first backoff in seconds (None: the default, 1 s).
        """
        self.mavi_conn_id = mavi_conn_id
        self.mavi_retry_attempts = mavi_retry_attempts
        self.mavi_retry_delay = mavi_retry_delay
        self.mavi_retry_policy = RetryPolicy.from_params(mavi_retry_attempts, mavi_retry_delay)

    def trigger_kwargs(self) -> dict[str, Any]:
        """What every trigger of this task takes from it: the connection id and the retry settings (JSON)."""
        return {"mavi_conn_id": self.mavi_conn_id, "retry_policy": self.mavi_retry_policy.to_json()}

    def defer_on(self, trigger: BaseTrigger, deadline: float, **kwargs: Any) -> NoReturn:
        """Defer to ``execute_complete(context, event, **kwargs)`` until the trigger yields its event.

        Airflow's own defer timeout is set past the trigger's deadline, as a backstop only: the trigger emits
        the ``timeout`` event itself.

        :param trigger: the trigger.
        :param deadline: the trigger's deadline, epoch seconds.
        :param kwargs: passed on to ``execute_complete`` (the id waited for).
        """
        task: Any = self  # a BaseOperator: the mixin comes first in its bases
        task.defer(
            trigger=trigger, method_name="execute_complete", kwargs=kwargs, timeout=defer_timeout(deadline)
        )
        raise AssertionError("defer() raises TaskDeferred")  # pragma: no cover

    def asset_ready(
        self, context: Context, event: dict[str, Any] | None = None, asset_id: str | None = None
    ) -> str:
        """``execute_complete`` of the tasks that wait for an asset: its id once ready, or the task's error.

        :param context: the task's context.
        :param event: the trigger event (checked first: :class:`MaviTriggerEventError` if it is not one).
        :param asset_id: the asset waited for.
        """
        return raise_for_event(AssetEvent.from_json(event, asset_id)).asset_id

    @cached_property
    def hook(self) -> MaviHook:
        """The Mavi hook of ``mavi_conn_id``, retrying as the task's settings say."""
        return MaviHook(mavi_conn_id=self.mavi_conn_id, retry_policy=self.mavi_retry_policy)

    @cached_property
    def bridge_hook(self) -> MaviBridgeHook:
        """The bridge hook of ``mavi_conn_id``, retrying as the task's settings say."""
        return MaviBridgeHook(self.mavi_conn_id, retry_policy=self.mavi_retry_policy)
