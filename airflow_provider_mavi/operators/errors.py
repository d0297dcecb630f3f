"""Errors that fail a Mavi task: Airflow exceptions, so retries and callbacks treat them as task failures."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow.sdk.exceptions import AirflowException

if TYPE_CHECKING:
    from collections.abc import Mapping


class MaviOperatorError(AirflowException):
    """Base class of the errors the Mavi operators and sensors raise."""


class MaviJobFailedError(MaviOperatorError):
    """
    Mavi delivered a callback that reports failure; the message is Mavi's own.

    :param job_id: the Mavi job id.
    :param mavi_message: Mavi's message, verbatim.
    """

    def __init__(self, job_id: str, mavi_message: str) -> None:
        super().__init__(f"Mavi job {job_id} failed: {mavi_message}")
        self.job_id = job_id
        self.mavi_message = mavi_message


class MaviJobTimeoutError(MaviOperatorError):
    """
    No callback for the job reached the bridge by the deadline.

    :param job_id: the Mavi job id.
    :param bridge_url: the bridge that was asked, without credentials.
    :param detail: what the trigger reported, if anything beyond the timeout.
    """

    def __init__(self, job_id: str, bridge_url: str, detail: str | None = None) -> None:
        message = (
            f"No callback for Mavi job {job_id} reached the bridge at {bridge_url} before the deadline. "
            f"Check whether Mavi delivered it with `mavi-bridge show {job_id}` (and that the account's "
            "webhook in the Mavi console points at this bridge). "
            "A retry of this task submits a new, paid job."
        )
        if detail:
            message += f" Detail: {detail}"
        super().__init__(message)
        self.job_id = job_id
        self.bridge_url = bridge_url

    @classmethod
    def from_event(cls, job_id: str, event: Mapping[str, Any]) -> MaviJobTimeoutError:
        """
        Build the error from a ``timeout`` trigger event (keeping why the last look failed, if it did).

        :param job_id: the Mavi job id.
        :param event: the validated event.
        """
        message = str(event.get("message") or "")
        marker = "(and the last look failed: "
        detail = message.split(marker, 1)[1].rstrip(")") if marker in message else None
        if detail:
            detail = f"the bridge could not be asked at the deadline: {detail}"
        return cls(job_id, str(event.get("bridge_url") or "(unknown bridge)"), detail)


class MaviTriggerEventError(MaviOperatorError):
    """The trigger event is not one this provider emits (unknown status, missing payload, other job)."""


class MaviWaitError(MaviOperatorError):
    """The wait itself broke (bridge token refused, connection unusable, errors repeated)."""


class MaviBridgeNotConfiguredError(MaviOperatorError):
    """The connection names no bridge, so a job's callback could never be read: nothing is submitted."""
