"""Who speaks when: pyannote diarization ($0.001/s) and multimodal speaker recognition ($0.1/min)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.endpoints import DIARIZE, RECOGNIZE_SPEAKERS
from airflow_provider_mavi.endpoints.checks import check_flag
from airflow_provider_mavi.operators.jobs import MaviMediaJobOperator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from airflow_provider_mavi.results import Diarization


class MaviSpeakerDiarizationOperator(MaviMediaJobOperator):
    """
    Tell who spoke when (anonymous labels by voice: ``SPEAKER_00``, ``SPEAKER_01``...) with pyannote.

    Async by default (``async-generate-speaker``, by webhook through the bridge); ``sync=True`` calls
    ``sync-generate-speaker`` and waits for the answer in the worker, with no webhook and no bridge.

    Returns ``{job_id, model, segments: [{start, end, speaker}], duration_seconds, cost_usd, cost_note,
    speakers}`` (``speakers``: the labels in order of first appearance; ``job_id`` null for sync). The price
    is per second of media: a sync answer reports no duration, so pass ``media_duration_seconds`` (or the
    upload's ``media`` XCom), else ``cost_usd`` is null and the log says why.

    :param asset_id: the ``re_`` audio or video asset. (templated)
    :param sync: call the sync endpoint instead of submitting a job.
    :param media_duration_seconds: the media's duration, for the price when Mavi does not report it.
        (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = DIARIZE

    def __init__(self, *, asset_id: str, sync: bool = False, **kwargs: Any) -> None:
        super().__init__(asset_id=asset_id, **kwargs)
        self.sync = check_flag(sync, "sync")

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /transcriptions/async-generate-speaker``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.diarize_speakers(asset_id)

    def call_sync(self, asset_id: str) -> Diarization:
        """
        Call ``POST /transcriptions/sync-generate-speaker``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.diarize_speakers_sync(asset_id)


class MaviRecognizeSpeakersOperator(MaviMediaJobOperator):
    """
    Name the speakers (pyannote diarization with face recognition) and transcribe what they say.

    Returns ``{job_id, segments: [{start, end, text, speaker}], faces: [{face_id, name, protocol, bucket,
    blob}], usage: [...], processing_seconds, media_seconds, cost_usd, cost_note, speakers, text}``:
    ``segments`` are Mavi's ``audio_transcription`` (``speaker`` a name), ``faces`` its ``faces`` (where each
    face image is stored), ``usage`` its ``usage_metadata`` entries as sent. Mavi's usage reports processing
    time, not the media's length, so the price ($0.1 per minute of media) needs ``media_duration_seconds`` (or
    the upload's ``media`` XCom); without it ``cost_usd`` is null and the log says why.

    :param asset_id: the ``re_`` video (or audio) asset. (templated)
    :param media_duration_seconds: the media's duration, for the price. (templated)
    :param callback_timeout: seconds to wait for the callback, counted from the submit.
    :param deferrable: wait in the triggerer (default) instead of holding a worker slot.
    :param mavi_conn_id: the ``mavi`` connection. (templated)
    """

    endpoint = RECOGNIZE_SPEAKERS
    template_fields: Sequence[str] = ("asset_id", "media_duration_seconds", "mavi_conn_id")

    def submit(self, asset_id: str) -> str:
        """
        Submit ``POST /transcriptions/async-generate-multi-speaker``.

        :param asset_id: the rendered, checked asset id.
        """
        return self.hook.recognize_speakers(asset_id)
