"""What every operator over a paid sync Mavi call shares: check, ask once, keep the answer, write, log.

Sync calls (speech-to-text, VLM chat, embeddings) answer in the HTTP response: no webhook, so **no bridge**
and no deferral. The hook rate-limits them and repeats them only when Mavi certainly did nothing (the submit
rule); a timeout or a 5xx after the request was sent raises with ``outcome_unknown`` and is not repeated.

One try (:meth:`MaviSyncOperator.execute`):

1. :meth:`~MaviSyncOperator.request`: the rendered fields, checked (``MaviOperatorError``, nothing sent);
2. what an earlier try kept (:class:`~airflow_provider_mavi.operators.answers.AnswerMemory`): its result when
   it went to the same ``output_path`` and its files are all there, else its answer, written again; either way
   nothing is paid;
3. otherwise the request body is built and checked (the catalogue's pure builder, the same one the hook
   runs), the output location is prepared (so a bad bucket fails before paying), Mavi is asked, the answer
   is kept in the task state store, then written; the result is kept too, its price pushed and logged.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.operators.answers import AnswerMemory, fingerprint, output_paths
from airflow_provider_mavi.operators.base import MaviBaseOperator, log_spend

if TYPE_CHECKING:
    from collections.abc import Mapping

    from airflow.sdk import Context, ObjectStoragePath

    from airflow_provider_mavi.endpoints import Endpoint

__all__ = ["MaviSyncOperator", "output_paths"]


class MaviSyncOperator(MaviBaseOperator):
    """Base of the operators over a paid sync Mavi call. They never defer and need no bridge.

    Subclasses set :attr:`call_kind` and implement :meth:`request`, :meth:`endpoint`, :meth:`document` and
    :meth:`write`; they may override :meth:`call_params`, :meth:`checked` and :meth:`prepare_output`.

    :param mavi_conn_id: the ``mavi`` connection (no ``bridge_url`` needed). (templated)
    :param kwargs: ``mavi_retry_attempts``, ``mavi_retry_delay`` (see :class:`MaviBaseOperator`) and the
        ``BaseOperator`` arguments.
    """

    #: The call, for the fingerprint and the logs, e.g. ``speech_to_text``.
    call_kind: ClassVar[str] = ""
    #: Where the outputs go (subclasses set it); a kept result is re-used only for the same place.
    output_path: str | ObjectStoragePath | None = None

    # -- to implement ------------------------------------------------------------------------------

    def request(self) -> dict[str, Any]:
        """The rendered fields, checked, as JSON values: what is asked (a retry re-uses an answer only for
        the same request).

        :raises MaviOperatorError: for a field that cannot be sent (nothing is sent then).
        """
        raise NotImplementedError

    def endpoint(self, request: Mapping[str, Any]) -> Endpoint[Any]:
        """The catalogue entry to call.

        :param request: :meth:`request`'s value.
        """
        raise NotImplementedError

    def call_params(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The parameters of ``hook.call(endpoint, ...)`` (may read a file; called only when Mavi is asked).

        :param request: :meth:`request`'s value.
        """
        return dict(request)

    def checked(self, value: Any, request: Mapping[str, Any]) -> Any:
        """The hook's answer, checked further (e.g. against a schema); raise to refuse it.

        :param value: the parsed answer.
        :param request: :meth:`request`'s value.
        """
        return value

    def document(self, value: Any, request: Mapping[str, Any]) -> dict[str, Any]:
        """The whole answer as a JSON document: what is kept across tries and written to the output.

        :param value: the checked answer.
        :param request: :meth:`request`'s value.
        """
        raise NotImplementedError

    def prepare_output(self, request: Mapping[str, Any]) -> None:
        """Check and create the output location before anything is paid (default: nothing to do).

        :param request: :meth:`request`'s value.
        """

    def write(self, request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
        """Write the outputs of an answer; return the task's small JSON result (with ``cost_usd``).

        :param request: :meth:`request`'s value.
        :param answer: :meth:`document`'s value (possibly kept by an earlier try).
        """
        raise NotImplementedError

    # -- flow ----------------------------------------------------------------------------------------

    def execute(self, context: Context) -> dict[str, Any]:
        """Ask Mavi once across tries, write the outputs, push the price.

        :param context: the task's context.
        """
        request = self.request()
        memory = AnswerMemory(context, self, fingerprint(self.call_kind, request))
        kept = memory.recall()
        outputs = str(self.output_path or "")
        result = memory.reusable_result(kept, outputs)
        if result is not None:
            log_spend(context, result.get("cost_usd"), self)
            return result
        answer = memory.kept_answer(kept)
        if answer is not None:
            self.prepare_output(request)
        else:
            answer = self._ask(memory, request, kept.get("unknown_outcome"))
        result = self.write(request, answer)
        memory.keep_result(result, outputs)
        log_spend(context, result.get("cost_usd"), self)
        return result

    def _ask(self, memory: AnswerMemory, request: Mapping[str, Any], unknown: object) -> dict[str, Any]:
        """Check the request, prepare the output, ask Mavi (paid) and keep the answer."""
        endpoint = self.endpoint(request)
        params = self.call_params(request)
        if callable(endpoint.body):
            try:
                endpoint.body(**params)  # the hook's own check, run before any I/O of this task
            except (ValueError, TypeError) as error:
                raise MaviOperatorError(f"{self.call_kind}: {error}. Nothing was sent to Mavi.") from None
        self.prepare_output(request)
        value = memory.ask(self.call_kind, lambda: self.hook.call(endpoint, **params), unknown)
        answer = self.document(self.checked(value, request), request)
        memory.keep_answer(answer)
        cost = answer.get("cost_usd")
        self.log.info(
            "Mavi answered %s; cost %s",
            self.call_kind,
            f"${cost:.6f}" if isinstance(cost, (int, float)) else f"unknown: {answer.get('cost_note')}",
        )
        return answer
