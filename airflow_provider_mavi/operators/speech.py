"""MaviSpeechToTextOperator: speech to text with ElevenLabs or AssemblyAI through Mavi (sync, no bridge)."""

from __future__ import annotations

import hashlib
import json
from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.endpoints import (
    ASSEMBLYAI_OPTIONS,
    ELEVENLABS_OPTIONS,
    STT_PROVIDERS,
    speech_to_text_endpoint,
)
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.operators.captions import segments_from_words, write_captions
from airflow_provider_mavi.operators.measures import seconds_from
from airflow_provider_mavi.operators.sync import MaviSyncOperator

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_mavi.endpoints import Endpoint
    from airflow_provider_mavi.results import SpeechToText

__all__ = ["MaviSpeechToTextOperator"]

_SOURCES = ("asset_id", "url", "source_url")
_OPTIONS: dict[str, dict[str, Any]] = {"elevenlabs": ELEVENLABS_OPTIONS, "assemblyai": ASSEMBLYAI_OPTIONS}
#: Every provider option this operator takes as a keyword argument.
OPTION_NAMES = frozenset(ELEVENLABS_OPTIONS) | frozenset(ASSEMBLYAI_OPTIONS)


class MaviSpeechToTextOperator(MaviSyncOperator):
    """
    Transcribe speech with ElevenLabs (Scribe) or AssemblyAI (Universal-2) through Mavi, waiting for the
    answer (sync: no webhook, no bridge). Priced per audio hour, billed by the second.

    Returns ``{provider, asset_id, text, language_code, language_probability, transcript_id,
    audio_duration_seconds, segments, words, segment_count, word_count, cost_usd, cost_note}``; ``segments``
    are ``{start, end, text, speaker}`` in seconds (words grouped at speaker changes, sentence ends and
    pauses), ``words`` as the provider timed them. With ``output_path`` (a directory, local or any
    ``ObjectStoragePath``) the whole answer is written there as ``<source>.<provider>.json`` plus ``.vtt``
    and ``.srt`` (``<source>`` is the asset id, or ``url-<hash>``; a URL is never written anywhere), and the
    XCom drops ``segments`` and ``words`` for ``json_path``, ``vtt_path`` and ``srt_path``.

    ElevenLabs does not report the audio's duration: give ``audio_duration_seconds`` (e.g. the upload's
    ``media`` XCom) for a price, else ``cost_usd`` is null and the log says why.

    :param asset_id: an uploaded audio or video asset; or (templated)
    :param url: a public audio URL; or (templated)
    :param source_url: a ``gs://`` path or a public http(s) URL. Exactly one source. (templated)
    :param provider: ``elevenlabs`` (default) or ``assemblyai``. (templated)
    :param output_path: a directory for the JSON, WebVTT and SubRip files. (templated)
    :param audio_duration_seconds: the audio's duration, for the price of an ElevenLabs answer. (templated)
    :param mavi_conn_id: the ``mavi`` connection (no bridge needed). (templated)
    :param kwargs: the provider's options (``language_code``, ``diarize``, ``speaker_labels``...: mavi-api.md
        §12.8, ``endpoints.ELEVENLABS_OPTIONS`` / ``ASSEMBLYAI_OPTIONS``), templated and kept in
        ``options``; ``mavi_retry_attempts``, ``mavi_retry_delay`` and the ``BaseOperator`` arguments.
    """

    call_kind: ClassVar[str] = "speech_to_text"
    template_fields: Sequence[str] = (
        "asset_id",
        "url",
        "source_url",
        "provider",
        "options",
        "output_path",
        "audio_duration_seconds",
        "mavi_conn_id",
    )

    def __init__(
        self,
        *,
        asset_id: str | None = None,
        url: str | None = None,
        source_url: str | None = None,
        provider: str = "elevenlabs",
        output_path: str | ObjectStoragePath | None = None,
        audio_duration_seconds: float | str | Mapping[str, Any] | None = None,
        mavi_conn_id: str = "mavi_default",
        **kwargs: Any,
    ) -> None:
        options = {name: kwargs.pop(name) for name in list(kwargs) if name in OPTION_NAMES}
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        given = [name for name, value in zip(_SOURCES, (asset_id, url, source_url), strict=True) if value]
        if len(given) != 1:
            raise ValueError(
                "MaviSpeechToTextOperator takes exactly one audio source, asset_id, url or source_url; "
                f"got {' and '.join(given) if given else 'none'}"
            )
        if provider in _OPTIONS:
            foreign = sorted(set(options) - set(_OPTIONS[provider]))
            if foreign:
                raise ValueError(f"{', '.join(foreign)} are not options of provider {provider!r}")
        self.asset_id = asset_id
        self.url = url
        self.source_url = source_url
        self.provider = provider
        self.options = options
        self.output_path = output_path
        self.audio_duration_seconds = audio_duration_seconds

    def request(self) -> dict[str, Any]:
        """The rendered source, provider and options, checked (exactly one source)."""
        rendered = dict(zip(_SOURCES, (self.asset_id, self.url, self.source_url), strict=True))
        given = {name: value for name, value in rendered.items() if value not in (None, "")}
        if len(given) != 1:
            raise MaviOperatorError(
                "speech-to-text takes exactly one audio source; after rendering, "
                f"{' and '.join(given) if given else 'none'} of asset_id, url, source_url "
                "is set. Nothing was sent to Mavi."
            )
        ((name, value),) = given.items()
        if not isinstance(value, str) or not value.strip():
            raise MaviOperatorError(f"{name} must be a non-empty string. Nothing was sent to Mavi.")
        if self.provider not in STT_PROVIDERS:
            raise MaviOperatorError(
                f"provider must be one of {', '.join(STT_PROVIDERS)}, got {self.provider!r}. "
                "Nothing was sent to Mavi."
            )
        seconds_from(self.audio_duration_seconds, "audio_duration_seconds")
        options = {key: value for key, value in dict(self.options or {}).items() if value is not None}
        return {name: value.strip(), "provider": self.provider, **options}

    def endpoint(self, request: Mapping[str, Any]) -> Endpoint[Any]:
        """The provider's speech-to-text entry.

        :param request: the checked request.
        """
        return speech_to_text_endpoint(request["provider"])

    def call_params(self, request: Mapping[str, Any]) -> dict[str, Any]:
        """The entry's parameters: the source and the options (the provider is the entry).

        :param request: the checked request.
        """
        return {key: value for key, value in request.items() if key != "provider"}

    def document(self, value: SpeechToText, request: Mapping[str, Any]) -> dict[str, Any]:
        """The whole transcript as JSON, priced with ``audio_duration_seconds`` when the answer has none.

        :param value: the parsed answer.
        :param request: the checked request.
        """
        seconds = seconds_from(self.audio_duration_seconds, "audio_duration_seconds")
        if value.audio_duration_seconds is None and seconds is not None:
            value = value.with_duration(seconds)
        words = [
            {key: item for key, item in word.items() if key not in ("raw_start", "raw_end")}
            for word in value.to_dict()["words"]
        ]
        return {
            "provider": value.provider,
            "asset_id": request.get("asset_id"),
            "text": value.text,
            "language_code": value.language_code,
            "language_probability": value.language_probability,
            "transcript_id": value.transcript_id,
            "audio_duration_seconds": value.audio_duration_seconds,
            "segments": segments_from_words(words),
            "words": words,
            "cost_usd": value.cost_usd,
            "cost_note": value.cost_note,
        }

    def _directory(self) -> ObjectStoragePath | None:
        return None if self.output_path in (None, "") else ObjectStoragePath(str(self.output_path))

    def prepare_output(self, request: Mapping[str, Any]) -> None:
        """Create the output directory before paying (a bad location fails with nothing sent).

        :param request: the checked request.
        """
        directory = self._directory()
        if directory is not None:
            directory.mkdir(parents=True, exist_ok=True)

    def write(self, request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
        """Write ``<source>.<provider>.json``, ``.vtt`` and ``.srt`` when asked; return the XCom result.

        :param request: the checked request.
        :param answer: the transcript document.
        """
        counts = {"segment_count": len(answer["segments"]), "word_count": len(answer["words"])}
        directory = self._directory()
        if directory is None:
            return {**answer, **counts}
        source = (
            request.get("asset_id")
            or "url-"
            + hashlib.sha256(str(request.get("url") or request.get("source_url")).encode()).hexdigest()[:16]
        )
        stem = f"{source}.{answer['provider']}"
        json_path = directory / f"{stem}.json"
        json_path.write_text(json.dumps(answer, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        paths = {"json_path": str(json_path), **write_captions(directory, stem, answer["segments"])}
        self.log.info("Wrote the transcript to %s", ", ".join(paths.values()))
        summary = {key: value for key, value in answer.items() if key not in ("segments", "words")}
        return {**summary, **counts, **paths}
