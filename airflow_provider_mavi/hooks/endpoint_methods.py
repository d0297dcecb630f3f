"""The named methods of ``MaviHook`` for Mavi's processing endpoints: each one line over ``call``.

A job method returns the job id (the result comes by webhook: parse it with the entry's ``callback``); a sync
method returns the parsed result. Every one of them is paid work, so the hook repeats it only when Mavi
certainly did nothing (429, the ambiguous 400, a connection that failed before sending); after a timeout, a
dropped connection or a 5xx it raises with ``outcome_unknown=True`` instead (the submit rule). Bad arguments
raise ``ValueError`` before anything is sent. The entries are in :mod:`airflow_provider_mavi.endpoints`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mavi.endpoints import (
    DEFAULT_VIDEO_MODEL,
    DETECT_SCENES,
    DIARIZE,
    DIARIZE_SYNC,
    EDIT_VIDEO,
    EMBED_TEXT,
    EMBED_VIDEO,
    EXTRACT_FRAMES,
    RECOGNIZE_SPEAKERS,
    SPLIT_VIDEO,
    SUMMARIZE,
    TEXT_EMBEDDING_MODEL,
    TRANSCRIBE_AUDIO,
    TRANSCRIBE_AUDIO_SYNC,
    TRANSCRIBE_VIDEO,
    VIDEO_CHAT,
    VIDEO_EMBEDDING_MODEL,
    speech_to_text_endpoint,
)

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_mavi.endpoints import Endpoint
    from airflow_provider_mavi.results import (
        AudioTranscript,
        ChatAnswer,
        Diarization,
        Embeddings,
        SpeechToText,
    )

__all__ = ["MaviEndpointMethods"]

T = TypeVar("T")
R = TypeVar("R")


class MaviEndpointMethods:
    """Mixin of :class:`~airflow_provider_mavi.hooks.mavi.MaviHook`: one method per processing endpoint."""

    if TYPE_CHECKING:

        @property
        def log(self) -> Any: ...  # BaseHook's logger

        def call(self, endpoint: Endpoint[T], /, *, attempts: int | None = None, **params: Any) -> T: ...

    def _submitted(self, job_id: str, what: str, asset_id: str) -> str:
        self.log.info("Submitted %s of %s: job %s", what, asset_id, job_id)
        return job_id

    def _answered(self, result: R, what: str) -> R:
        cost, note = getattr(result, "cost_usd", None), getattr(result, "cost_note", None)
        if cost is not None:
            self.log.info("Mavi answered %s; cost $%.6f", what, cost)
        else:
            self.log.info("Mavi answered %s; cost unknown: %s", what, note)
        return result

    # ------------------------------------------------------------------------------- async jobs (webhook)

    def extract_frames(self, asset_id: str) -> str:
        """Submit frame extraction ($0.01 per second of video); return the job id.

        :param asset_id: a ready video asset.
        """
        return self._submitted(self.call(EXTRACT_FRAMES, asset_id=asset_id), "frame extraction", asset_id)

    def transcribe_video(self, asset_id: str, model: str = DEFAULT_VIDEO_MODEL) -> str:
        """Submit an async video description; return the job id. An unknown model is refused before sending.

        :param asset_id: a ready video asset.
        :param model: one of :data:`~airflow_provider_mavi.endpoints.SUPPORTED_VIDEO_MODELS`.
        """
        job_id = self.call(TRANSCRIBE_VIDEO, asset_id=asset_id, model=model)
        return self._submitted(job_id, f"video description with {model}", asset_id)

    def transcribe_audio(self, asset_id: str, speaker: bool = False) -> str:
        """Submit an async Whisper transcription; return the job id (callback: ``results.AudioTranscript``).

        :param asset_id: a ready audio or video asset.
        :param speaker: label speakers (doubles the price).
        """
        job_id = self.call(TRANSCRIBE_AUDIO, asset_id=asset_id, speaker=speaker)
        return self._submitted(job_id, f"audio transcription (speaker={speaker})", asset_id)

    def diarize_speakers(self, asset_id: str) -> str:
        """Submit async speaker diarization (pyannote, $0.001/s); return the job id (callback:
        ``results.Diarization``).

        :param asset_id: a ready audio or video asset.
        """
        return self._submitted(self.call(DIARIZE, asset_id=asset_id), "speaker diarization", asset_id)

    def recognize_speakers(self, asset_id: str) -> str:
        """Submit multimodal speaker recognition ($0.1/min); return the job id (callback:
        ``results.SpeakerRecognition``).

        :param asset_id: a ready video (or audio) asset.
        """
        job_id = self.call(RECOGNIZE_SPEAKERS, asset_id=asset_id)
        return self._submitted(job_id, "speaker recognition", asset_id)

    def summarize_video(self, asset_id: str) -> str:
        """Submit a summary (no published price); return the job id (callback: ``results.VideoSummary``).

        :param asset_id: a ready asset.
        """
        return self._submitted(self.call(SUMMARIZE, asset_id=asset_id), "summary", asset_id)

    def detect_scenes(self, asset_id: str) -> str:
        """Submit scene detection (``/video/clip``); return the job id (callback: ``results.Scenes``).

        :param asset_id: a ready video asset.
        """
        return self._submitted(self.call(DETECT_SCENES, asset_id=asset_id), "scene detection", asset_id)

    def split_video(self, asset_id: str, segment_seconds: int | None = None) -> str:
        """Submit a split; return the job id (callback: ``results.SplitVideo``).

        :param asset_id: a ready video asset.
        :param segment_seconds: segment length in seconds, sent only when given (UNVERIFIED field: only the
            official examples send it); None lets Mavi choose.
        """
        job_id = self.call(SPLIT_VIDEO, asset_id=asset_id, segment_seconds=segment_seconds)
        return self._submitted(job_id, f"split (segment_seconds={segment_seconds})", asset_id)

    def edit_video(self, asset_ids: Sequence[str], orientation: str, user_prompt: str) -> str:
        """Submit an edit of videos into one; return the job id (callback: ``results.EditedVideo``).

        :param asset_ids: the ready video assets, in order (a non-empty list).
        :param orientation: ``landscape`` or ``portrait``.
        :param user_prompt: the editing instructions (<= 500 characters, English recommended).
        """
        job_id = self.call(EDIT_VIDEO, asset_ids=asset_ids, orientation=orientation, user_prompt=user_prompt)
        return self._submitted(job_id, f"edit ({orientation})", ", ".join(asset_ids))

    # ------------------------------------------------------------------------------- sync calls (no bridge)

    def transcribe_audio_sync(self, asset_id: str, speaker: bool = False) -> AudioTranscript:
        """Transcribe speech with Whisper, waiting for the answer ($0.001/s, $0.002/s with speakers).

        :param asset_id: a ready audio or video asset (Mavi advises sync for short clips).
        :param speaker: label speakers (doubles the price).
        """
        return self._answered(self.call(TRANSCRIBE_AUDIO_SYNC, asset_id=asset_id, speaker=speaker), "Whisper")

    def diarize_speakers_sync(self, asset_id: str) -> Diarization:
        """Tell who spoke when (pyannote), waiting for the answer ($0.001/s).

        :param asset_id: a ready audio or video asset.
        """
        return self._answered(self.call(DIARIZE_SYNC, asset_id=asset_id), "speaker diarization")

    def speech_to_text(
        self,
        *,
        asset_id: str | None = None,
        url: str | None = None,
        source_url: str | None = None,
        provider: str = "elevenlabs",
        **options: Any,
    ) -> SpeechToText:
        """Transcribe speech with ElevenLabs or AssemblyAI, waiting for the answer (priced per audio hour).

        :param asset_id: an uploaded asset; or
        :param url: a public audio URL; or
        :param source_url: a ``gs://`` path or a public http(s) URL. Exactly one source: several are refused.
        :param provider: ``elevenlabs`` (default) or ``assemblyai``.
        :param options: the provider's options (``endpoints.ELEVENLABS_OPTIONS`` / ``ASSEMBLYAI_OPTIONS``).
        """
        endpoint = speech_to_text_endpoint(provider)
        result = self.call(endpoint, asset_id=asset_id, url=url, source_url=source_url, **options)
        return self._answered(result, f"speech-to-text with {provider}")

    def video_chat(
        self,
        model: str,
        *,
        prompt: str | None = None,
        messages: Sequence[Mapping[str, Any]] | None = None,
        video: str | None = None,
        response_schema: Mapping[str, Any] | None = None,
        **options: Any,
    ) -> ChatAnswer:
        """Ask a VLM about a video (``/vu/chat/completions``); with ``response_schema``, the answer's JSON is
        parsed and validated into ``.parsed`` (``results.ChatAnswerError`` when it does not match).

        :param model: ``gemini:...``, ``qwen:...`` or ``nova:...`` (mavi-api.md §12.9).
        :param prompt: one question; or
        :param messages: a conversation.
        :param video: the video's URL (Nova: also a ``data:video/...;base64,`` URI; Qwen: refused).
        :param response_schema: a JSON Schema for the answer (structured output).
        :param options: ``endpoints.video_chat_body``'s other parameters (``max_tokens``, ``temperature``...).
        """
        answer = self.call(
            VIDEO_CHAT, model=model, prompt=prompt, messages=messages, video=video,
            response_schema=response_schema, **options,
        )  # fmt: skip
        return self._answered(answer.validated(response_schema), f"chat with {model}")

    def embed_video(self, asset_id: str, model: str = VIDEO_EMBEDDING_MODEL) -> Embeddings:
        """One embedding vector for a whole video.

        :param asset_id: a ready video asset.
        :param model: ``multimodalembedding@001`` (the only documented model).
        """
        return self._answered(self.call(EMBED_VIDEO, asset_id=asset_id, model=model), "video embedding")

    def embed_text(
        self, texts: Sequence[str], model: str = TEXT_EMBEDDING_MODEL, dimensionality: int | None = None
    ) -> Embeddings:
        """One embedding vector per text, in order (refused when Mavi returns another count).

        :param texts: the texts (a non-empty list).
        :param model: ``gemini-embedding-001`` (the only documented model).
        :param dimensionality: the vectors' length; None: the model's default.
        """
        result = self.call(EMBED_TEXT, texts=texts, model=model, dimensionality=dimensionality)
        return self._answered(result.expect_count(len(texts)), "text embedding")
