"""Where a sync Mavi operator remembers a paid answer across tries: Airflow's task state store.

A sync call (speech-to-text, VLM chat, embeddings; Whisper and diarization with ``sync=True``) is paid once
Mavi has the request, and its answer comes back only once, in the HTTP response. So the answer is kept in
``task_state_store`` (Airflow >= 3.3; it survives task retries, XCom does not) **before** anything else can
fail, and the task's result once its output files are written. A retry of the same request (same fingerprint)
then uses them and pays nothing:

1. a kept result whose output files all still exist is returned as it is;
2. else a kept answer is written again (the outputs failed last time, or were removed);
3. else Mavi is asked (and paid) again.

What is kept is bounded by the store's own limit (``[state_store] max_value_storage_bytes``, 64 KiB by
default; none with a ``[workers] state_store_backend`` that offloads values): an answer over it is not kept,
which the log says. Such an answer (big embeddings, a long transcript) is safe only once its output files are
written, when the small result is kept. Without the store (Airflow < 3.3) nothing is kept.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any, TypeVar

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.compat import NEVER_EXPIRE, conf
from airflow_provider_mavi.exceptions import MaviError

if TYPE_CHECKING:
    from collections.abc import Callable

    from airflow.sdk import BaseOperator, Context

__all__ = ["STATE_KEY", "AnswerMemory", "fingerprint", "output_paths", "store_limit"]

T = TypeVar("T")

#: task_state_store key holding ``{fingerprint, answer?, result?, outputs?, unknown_outcome?}``.
STATE_KEY = "mavi_answer"
_DEFAULT_LIMIT = 65535


def fingerprint(kind: str, request: Mapping[str, Any]) -> str:
    """A hash of what a task asks for: a retry re-uses an answer only for the same one.

    Only the hash is stored, so a signed URL in a request never reaches the store.

    :param kind: the call, e.g. ``speech_to_text``.
    :param request: the rendered request fields (JSON values).
    """
    text = json.dumps({"kind": kind, **request}, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def store_limit() -> int | None:
    """The largest JSON value (bytes) the task state store takes without complaint; None for no limit."""
    if conf.get("workers", "state_store_backend", fallback=""):
        return None  # values are offloaded to external storage
    limit = conf.getint("state_store", "max_value_storage_bytes", fallback=_DEFAULT_LIMIT)
    return None if limit <= 0 else limit


def output_paths(result: Mapping[str, Any]) -> list[str]:
    """The files a result names: the values of its ``path`` and ``*_path`` keys.

    :param result: a task's result.
    """
    return [
        value
        for key, value in result.items()
        if (key == "path" or key.endswith("_path")) and isinstance(value, str) and value
    ]


def _all_exist(paths: list[str]) -> bool:
    try:
        return all(ObjectStoragePath(path).exists() for path in paths)
    except Exception:  # an unreachable store: write again rather than trust it
        return False


def _size(value: Any) -> int:
    return len(json.dumps(value).encode("utf-8"))


class AnswerMemory:
    """The kept answer of one task instance and request.

    :param context: the task's context (``task_state_store`` is used when present).
    :param operator: the operator, for logging.
    :param request_fingerprint: :func:`fingerprint` of this try's request.
    """

    def __init__(self, context: Context, operator: BaseOperator, request_fingerprint: str) -> None:
        self.store = context.get("task_state_store")
        self.log = operator.log
        self.fingerprint = request_fingerprint
        self.limit = store_limit() if self.store is not None else None
        self._kept: dict[str, Any] = {}

    @property
    def available(self) -> bool:
        """Whether answers can be kept at all (Airflow >= 3.3)."""
        return self.store is not None

    def recall(self) -> dict[str, Any]:
        """What an earlier try of this request kept (``answer``, ``result``, ``unknown_outcome``); ``{}`` if
        nothing, or only for another request."""
        if self.store is None:
            return {}
        value = self.store.get(STATE_KEY)
        if not isinstance(value, Mapping):
            return {}
        if value.get("fingerprint") != self.fingerprint:
            self.log.info("An earlier try kept a Mavi answer for another request; not re-used")
            return {}
        self._kept = {key: item for key, item in value.items() if key != "fingerprint"}
        return dict(self._kept)

    def reusable_result(self, kept: Mapping[str, Any], outputs: str) -> dict[str, Any] | None:
        """A result an earlier try kept for the same outputs whose files all still exist, else None.

        :param kept: :meth:`recall`'s value.
        :param outputs: where this try's outputs go.
        """
        result = kept.get("result")
        if (
            isinstance(result, Mapping)
            and kept.get("outputs") == outputs
            and _all_exist(output_paths(result))
        ):
            self.log.info("Re-using the result of an earlier try of this task: nothing paid by this try")
            return dict(result)
        return None

    def kept_answer(self, kept: Mapping[str, Any]) -> dict[str, Any] | None:
        """The answer an earlier try kept (to write again), else None.

        :param kept: :meth:`recall`'s value.
        """
        answer = kept.get("answer")
        if isinstance(answer, Mapping):
            self.log.info("Re-using the Mavi answer an earlier try kept: nothing paid by this try")
            return dict(answer)
        return None

    def ask(self, kind: str, call: Callable[[], T], unknown: object) -> T:
        """Make the paid call: say when an earlier try's call ended with its outcome unknown, and note it
        when this one does (the hook never re-sends it; the next try asks, and pays, again).

        :param kind: the call, for the logs.
        :param call: the paid call.
        :param unknown: :meth:`recall`'s ``unknown_outcome``, if any.
        """
        if isinstance(unknown, Mapping):
            self.log.warning(
                "An earlier try's %s call (%s, %s) ended with its outcome unknown and may have been billed; "
                "asking again",
                kind,
                unknown.get("at"),
                unknown.get("error"),
            )
        if not self.available:
            self.log.info("No task state store (Airflow < 3.3): a retry of this task would pay again")
        try:
            return call()
        except MaviError as error:
            if error.outcome_unknown:
                self.keep_unknown_outcome(error)
                self.log.error(
                    "The %s call may have been billed although its answer was lost (%s); it was not sent "
                    "again. A retry of this task asks, and pays, again",
                    kind,
                    type(error).__name__,
                )
            raise

    def keep_answer(self, answer: Mapping[str, Any]) -> bool:
        """Keep a paid answer before anything else is done with it; False when it could not be kept.

        :param answer: the answer document (JSON).
        """
        return self._keep(
            {"answer": dict(answer)},
            what="answer",
            risk="if writing the output fails now, the next try pays again",
        )

    def keep_result(self, result: Mapping[str, Any], outputs: str) -> None:
        """Keep the task's result once its outputs are written (with the answer when both fit).

        :param result: the result (JSON, with the output paths).
        :param outputs: where the outputs were asked to go: a result is re-used only for the same place.
        """
        done = {"result": dict(result), "outputs": outputs}
        answer = self._kept.get("answer")
        if answer is None or not self._keep({"answer": answer, **done}, what="", risk=""):
            self._keep(done, what="result", risk="a retry re-uses the kept answer, if any")

    def keep_unknown_outcome(self, error: BaseException) -> None:
        """Note that a call ended with its outcome unknown (it may have been billed), for the next try's log.

        :param error: the error raised.
        """
        now = datetime.now(timezone.utc).isoformat(timespec="seconds")
        self._keep({"unknown_outcome": {"at": now, "error": type(error).__name__}}, what="", risk="")

    def _keep(self, fields: dict[str, Any], *, what: str, risk: str) -> bool:
        if self.store is None:
            return False
        value = {"fingerprint": self.fingerprint, **fields}
        size = _size(value)
        if self.limit is not None and size > self.limit:
            if risk:
                self.log.warning(
                    "The Mavi %s (%d bytes of JSON) is over the task state store's limit "
                    "([state_store] max_value_storage_bytes = %d) and is not kept: %s",
                    what,
                    size,
                    self.limit,
                    risk,
                )
            return False
        try:
            self.store.set(STATE_KEY, value, retention=NEVER_EXPIRE)
        except Exception as error:  # keeping is a safeguard: never fail a paid task over it
            self.log.warning("Could not keep the Mavi %s in the task state store: %s", what or "state", error)
            return False
        self._kept = fields
        return True
