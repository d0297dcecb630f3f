"""MaviTranscribeAudioOperator: speech to timed text by Whisper ($0.001 per second, $0.002 with speakers)."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.endpoints import TRANSCRIBE_AUDIO
from airflow_provider_mavi.endpoints.checks import check_flag
from airflow_provider_mavi.operators.captions import write_captions
from airflow_provider_mavi.operators.jobs import MaviMediaJobOperator
from airflow_provider_mavi.results import AudioTranscript, parse_audio_callback

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import Context

    from airflow_provider_mavi.operators.jobs import PricedResult


class MaviTranscribeAudioOperator(MaviMediaJobOperator):
    """
    Transcribe the speech of an audio or video asset with Whisper.

    Async by default (``async-generate-audio``: the result comes by webhook, through the bridge, deferring);
    ``sync=True`` calls ``sync-generate-audio`` and waits for the answer in the worker: no webhook and no
    bridge needed (Mavi advises it for short clips).

    Returns ``{job_id, model, segments: [{start, end, text, speaker}], duration_seconds, speaker_labels,
    cost_usd, cost_note, text}`` (``job_id`` null for sync; ``speaker`` null unless ``speaker=True``). With
    ``output_path`` (a directory, local or any ``ObjectStoragePath``) that document is written there as
    ``<job_id>.json`` (``<asset_id>.json`` for sync) beside ``.vtt`` (WebVTT, speakers as voice tags) and
    ``.srt`` (SubRip: plain text, no speaker), and the XCom keeps the rest without ``segments`` and ``text``,
    adding ``segment_count``, ``json_path``, ``vtt_path``, ``srt_path``. With ``sync=True`` the answer is kept
    in the task state store, so a retry writes it again instead of paying again.

    The price is per second of media: the callback reports it; a sync answer does not, so pass
    ``media_duration_seconds`` (or the upload's ``media`` XCom), else ``cost_usd`` is null and the log says
    why.

    :param asset_id: the ``re_`` audio or video asset. (templated)
    :param speaker: label each segment's speaker (``SPEAKER_00``...); doubles the price.
    :param sync: call the sync endpoint instead of submitting a job.
    :param output_path: a directory for the JSON, WebVTT and SubRip documents. (templated)
    :param media_duration_seconds: the media's duration, for the price when Mavi does not report it.
        (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = TRANSCRIBE_AUDIO
    template_fields: Sequence[str] = ("asset_id", "output_path", "media_duration_seconds", "mavi_conn_id")

    def __init__(
        self,
        *,
        asset_id: str,
        speaker: bool = False,
        sync: bool = False,
        output_path: str | ObjectStoragePath | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(asset_id=asset_id, **kwargs)
        self.speaker = check_flag(speaker, "speaker")
        self.sync = check_flag(sync, "sync")
        self.output_path = output_path

    def request_options(self) -> dict[str, Any]:
        """Speaker labels change the result and the price."""
        return {"speaker": self.speaker}

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /transcriptions/async-generate-audio``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.transcribe_audio(asset_id, speaker=self.speaker)

    def call_sync(self, asset_id: str) -> AudioTranscript:
        """
        Call ``POST /transcriptions/sync-generate-audio``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.transcribe_audio_sync(asset_id, speaker=self.speaker)

    def parse(self, payload: Mapping[str, Any]) -> AudioTranscript:
        """
        Parse the callback, priced for the speaker flag this task sent.

        :param payload: the callback body as Mavi sent it.
        """
        return parse_audio_callback(payload, speaker=self.speaker)

    def priced_for(self, result: Any, seconds: float) -> PricedResult:
        """
        The transcript priced for ``seconds`` of media, at the rate of the speaker flag this task sent.

        :param result: the transcript.
        :param seconds: the media's duration.
        """
        transcript: AudioTranscript = result
        return transcript.with_duration(seconds, speaker=self.speaker)

    def shape(self, context: Context, document: dict[str, Any]) -> dict[str, Any]:
        """
        The transcript as XCom, or written to ``output_path`` with a summary in XCom.

        :param context: the task's context.
        :param document: the priced transcript as JSON.
        """
        segments = document["segments"]
        self.log.info(
            "Mavi transcription %s: %d segments, %s s of media",
            document["job_id"] or "(sync)",
            len(segments),
            document["duration_seconds"],
        )
        if self.output_path in (None, ""):
            return document
        directory = ObjectStoragePath(str(self.output_path))
        directory.mkdir(parents=True, exist_ok=True)
        stem = document["job_id"] or self.subject()
        json_path = directory / f"{stem}.json"
        json_path.write_text(json.dumps(document, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths = {"json_path": str(json_path), **write_captions(directory, stem, segments)}
        self.log.info("Wrote the transcript to %s", ", ".join(paths.values()))
        kept = {key: value for key, value in document.items() if key not in ("segments", "text")}
        return {**kept, "segment_count": len(segments), **paths}
