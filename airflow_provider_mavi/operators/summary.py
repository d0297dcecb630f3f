"""MaviSummarizeVideoOperator: a written summary of a video (Mavi publishes no price for it)."""

from __future__ import annotations

from airflow_provider_mavi.endpoints import SUMMARIZE
from airflow_provider_mavi.operators.jobs import MaviJobOperator


class MaviSummarizeVideoOperator(MaviJobOperator):
    """
    Summarise a video (``async-summary``, by webhook through the bridge).

    Returns ``{job_id, summary, usage: {duration_seconds, model, prompt_tokens, output_tokens}, cost_usd,
    cost_note}``. ``usage`` is Mavi's own report (``duration`` is processing time). Mavi documents no price
    for summaries, so ``cost_usd`` is always null and the log says so once; no request field beyond the asset
    is documented (no prompt, language or model).

    :param asset_id: the ``re_`` asset to summarise (the docs call it "the transcription asset ID"; a video
        asset is what their example and the emulator take). (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = SUMMARIZE

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /transcriptions/async-summary``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.summarize_video(asset_id)
