"""Request bodies of the v2 endpoints: what is sent, and every refusal (``ValueError`` before anything is
sent, with a message that says what is wrong and what is allowed)."""

from __future__ import annotations

from typing import Any

import pytest

from airflow_provider_mavi import endpoints
from airflow_provider_mavi.exchange import prepare

BASE = "http://mavi.test/serve/api/v2"


def built(endpoint: endpoints.Endpoint[Any], **params: Any) -> dict[str, Any] | None:
    """The JSON body ``hook.call(endpoint, **params)`` would send."""
    return prepare(endpoint, params, base_url=BASE, api_key="k").json


# ------------------------------------------------------------------------------------------ async jobs


@pytest.mark.parametrize(
    "endpoint",
    [
        endpoints.DIARIZE,
        endpoints.DIARIZE_SYNC,
        endpoints.RECOGNIZE_SPEAKERS,
        endpoints.SUMMARIZE,
        endpoints.DETECT_SCENES,
    ],
)
def test_asset_only_endpoints(endpoint: endpoints.Endpoint[Any]) -> None:
    assert built(endpoint, asset_id="re_1") == {"asset_id": "re_1"}
    with pytest.raises(
        ValueError, match=r"Not a Mavi asset id: 're 1' \(expected e.g. 're_660727003963174912'\)"
    ):
        built(endpoint, asset_id="re 1")
    with pytest.raises(TypeError, match="language"):
        built(endpoint, asset_id="re_1", language="en")  # no such field is documented


def test_whisper_sync_and_async_send_the_same_body() -> None:
    for endpoint in (endpoints.TRANSCRIBE_AUDIO, endpoints.TRANSCRIBE_AUDIO_SYNC):
        assert built(endpoint, asset_id="re_1") == {
            "asset_id": "re_1",
            "model": "whisper-1",
            "speaker": False,
        }
        assert built(endpoint, asset_id="re_1", speaker=True)["speaker"] is True  # type: ignore[index]


@pytest.mark.parametrize("speaker", ["False", "true", 1, None])
def test_speaker_must_be_a_real_bool(speaker: Any) -> None:
    # "False" is truthy: taking it as True would double the price.
    with pytest.raises(ValueError, match=f"speaker must be True or False, got {speaker!r}"):
        built(endpoints.TRANSCRIBE_AUDIO_SYNC, asset_id="re_1", speaker=speaker)


def test_split_sends_segment_seconds_only_when_given() -> None:
    assert built(endpoints.SPLIT_VIDEO, asset_id="re_1") == {"asset_id": "re_1"}
    assert built(endpoints.SPLIT_VIDEO, asset_id="re_1", segment_seconds=None) == {"asset_id": "re_1"}
    assert built(endpoints.SPLIT_VIDEO, asset_id="re_1", segment_seconds=30) == {
        "asset_id": "re_1",
        "segment_seconds": 30,
    }


@pytest.mark.parametrize("seconds", [0, -5, 2.5, "30", True])
def test_a_bad_segment_length_is_refused(seconds: Any) -> None:
    with pytest.raises(ValueError, match=f"segment_seconds must be a whole number >= 1, got {seconds!r}"):
        built(endpoints.SPLIT_VIDEO, asset_id="re_1", segment_seconds=seconds)


def test_edit_body() -> None:
    assert built(
        endpoints.EDIT_VIDEO,
        asset_ids=("re_1", "re_2"),
        orientation="portrait",
        user_prompt="Cut the best bits",
    ) == {"asset_ids": ["re_1", "re_2"], "orientation": "portrait", "user_prompt": "Cut the best bits"}
    assert built(endpoints.EDIT_VIDEO, asset_ids=["re_1"], orientation="landscape", user_prompt="x" * 500)


@pytest.mark.parametrize(
    ("params", "message"),
    [
        (
            {"asset_ids": "re_1"},
            r"asset_ids must be a list of asset ids, e.g. \['re_1', 're_2'\], got 're_1'",
        ),
        ({"asset_ids": []}, "asset_ids must hold at least one asset id, got an empty list"),
        ({"asset_ids": ["re_1", "re/2"]}, r"Not a Mavi asset id: 're/2' .* for asset_ids\[1\]"),
        ({"asset_ids": ["re_1", None]}, r"Not a Mavi asset id: None .* for asset_ids\[1\]"),
        ({"orientation": "square"}, "orientation must be one of 'landscape', 'portrait', got 'square'"),
        ({"orientation": "Landscape"}, "orientation must be one of 'landscape', 'portrait', got 'Landscape'"),
        ({"user_prompt": "  "}, "user_prompt must be a non-empty string, got '  '"),
        ({"user_prompt": None}, "user_prompt must be a non-empty string, got None"),
        ({"user_prompt": "x" * 501}, "user_prompt must be at most 500 characters, got 501"),
    ],
)
def test_edit_refusals(params: dict[str, Any], message: str) -> None:
    good = {"asset_ids": ["re_1"], "orientation": "landscape", "user_prompt": "Make a trailer"}
    with pytest.raises(ValueError, match=message):
        built(endpoints.EDIT_VIDEO, **{**good, **params})


def test_edit_needs_every_documented_field() -> None:
    with pytest.raises(TypeError, match="user_prompt"):
        built(endpoints.EDIT_VIDEO, asset_ids=["re_1"], orientation="landscape")


# ------------------------------------------------------------------------------------------ speech-to-text


def test_speech_to_text_bodies() -> None:
    assert built(endpoints.SPEECH_TO_TEXT_ELEVENLABS, asset_id="re_1") == {
        "provider": "elevenlabs",
        "asset_id": "re_1",
    }
    assert built(
        endpoints.SPEECH_TO_TEXT_ELEVENLABS,
        url="https://cdn.example/a.mp3",
        diarize=True,
        timestamps_granularity="word",
        num_speakers=2,
        language_code=None,  # None: left out, the provider's default applies
    ) == {
        "provider": "elevenlabs",
        "url": "https://cdn.example/a.mp3",
        "diarize": True,
        "timestamps_granularity": "word",
        "num_speakers": 2,
    }
    assert built(
        endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
        source_url="gs://bucket/a.wav",
        speaker_labels=True,
        redact_pii_policies=["email_address"],
        audio_start_from=1000,
        audio_end_at=5000,
        summary_type="gist",
        speech_threshold=0.5,
    ) == {
        "provider": "assemblyai",
        "source_url": "gs://bucket/a.wav",
        "speaker_labels": True,
        "redact_pii_policies": ["email_address"],
        "audio_start_from": 1000,
        "audio_end_at": 5000,
        "summary_type": "gist",
        "speech_threshold": 0.5,
    }


def test_the_provider_picks_the_entry() -> None:
    assert endpoints.speech_to_text_endpoint("elevenlabs") is endpoints.SPEECH_TO_TEXT_ELEVENLABS
    assert endpoints.speech_to_text_endpoint("assemblyai") is endpoints.SPEECH_TO_TEXT_ASSEMBLYAI
    with pytest.raises(ValueError, match="provider must be one of 'elevenlabs', 'assemblyai', got 'whisper'"):
        endpoints.speech_to_text_endpoint("whisper")


@pytest.mark.parametrize(
    ("params", "message"),
    [
        ({}, "speech-to-text needs one audio source: asset_id .*, url .* or source_url"),
        (
            {"asset_id": "re_1", "url": "https://a/b.mp3"},
            "exactly one audio source, got asset_id and url: Mavi would silently use the first by its "
            "priority "
            "asset_id > url > source_url, so the request is refused as ambiguous",
        ),
        ({"url": "https://a/b.mp3", "source_url": "gs://b/c"}, "got url and source_url"),
        ({"url": "ftp://a/b.mp3"}, "url must be an absolute https:// or http:// URL, got a ftp:// URL"),
        ({"url": "a/b.mp3"}, "url must be an absolute https:// or http:// URL, got no URL scheme"),
        ({"source_url": "s3://b/c.mp3"}, "source_url must be an absolute gs:// or https:// or http:// URL"),
        ({"asset_id": "../x"}, "Not a Mavi asset id"),
    ],
)
def test_speech_to_text_source_refusals(params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        built(endpoints.SPEECH_TO_TEXT_ELEVENLABS, **params)


def test_a_refused_url_is_never_echoed() -> None:
    with pytest.raises(ValueError) as info:
        built(endpoints.SPEECH_TO_TEXT_ELEVENLABS, url="ftp://host/a.mp3?token=SECRET")
    assert "SECRET" not in str(info.value)


@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [
        (
            endpoints.SPEECH_TO_TEXT_ELEVENLABS,
            {"speaker_labels": True},
            "speech-to-text with elevenlabs takes no option",
        ),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, {"diarize": True}, "the documented ones are: .*speaker_labels"),
        (
            endpoints.SPEECH_TO_TEXT_ELEVENLABS,
            {"timestamps_granularity": "char"},
            "one of 'none', 'segment', 'word'",
        ),
        (
            endpoints.SPEECH_TO_TEXT_ELEVENLABS,
            {"num_speakers": 0},
            "num_speakers must be a whole number >= 1, got 0",
        ),
        (endpoints.SPEECH_TO_TEXT_ELEVENLABS, {"diarize": "yes"}, "diarize must be True or False, got 'yes'"),
        (
            endpoints.SPEECH_TO_TEXT_ELEVENLABS,
            {"language_code": ""},
            "language_code must be a non-empty string",
        ),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            {"speech_threshold": 1.5},
            "speech_threshold must be a number from 0 to 1",
        ),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, {"summary_model": "short"}, "'informative', 'conversational'"),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, {"redact_pii_sub": "mask"}, "'hash', 'entity_name'"),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, {"redact_pii_audio_quality": "ogg"}, "'mp3', 'wav'"),
        (endpoints.SPEECH_TO_TEXT_ASSEMBLYAI, {"boost_param": "max"}, "'low', 'default', 'high'"),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            {"word_boost": "Airflow"},
            "word_boost must be a non-empty list of strings",
        ),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            {"custom_spelling": ["x"]},
            "custom_spelling must be a list of objects",
        ),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            {"audio_start_from": -1},
            "audio_start_from must be a whole number >= 0",
        ),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            {"audio_start_from": 5000, "audio_end_at": 5000},
            r"audio_end_at \(5000 ms\) must be after audio_start_from \(5000 ms\)",
        ),
        (
            endpoints.SPEECH_TO_TEXT_ASSEMBLYAI,
            {"webhook_url": "not a url"},
            "webhook_url must be an absolute",
        ),
    ],
)
def test_speech_to_text_option_refusals(endpoint: Any, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        built(endpoint, asset_id="re_1", **params)


# ------------------------------------------------------------------------------------------ embeddings


def test_embedding_bodies() -> None:
    assert built(endpoints.EMBED_VIDEO, asset_id="re_1") == {
        "asset_id": "re_1",
        "model": "multimodalembedding@001",
    }
    assert built(endpoints.EMBED_TEXT, texts=["a red car", "a blue boat"]) == {
        "input": ["a red car", "a blue boat"],
        "model": "gemini-embedding-001",
    }
    assert built(endpoints.EMBED_TEXT, texts=("a",), dimensionality=256)["dimensionality"] == 256  # type: ignore[index]


@pytest.mark.parametrize(
    ("endpoint", "params", "message"),
    [
        (
            endpoints.EMBED_VIDEO,
            {"asset_id": "re_1", "model": "mobileclip"},
            "model must be one of 'multimodalembedding@001'",
        ),
        (
            endpoints.EMBED_TEXT,
            {"texts": "a red car"},
            r"texts must be a non-empty list of strings, e.g. \['a red car'\]",
        ),
        (endpoints.EMBED_TEXT, {"texts": []}, "texts must be a non-empty list of strings"),
        (endpoints.EMBED_TEXT, {"texts": ["ok", ""]}, r"texts\[1\] must be a non-empty string"),
        (
            endpoints.EMBED_TEXT,
            {"texts": ["a"], "model": "text-embedding-3"},
            "model must be one of 'gemini-embedding-001'",
        ),
        (
            endpoints.EMBED_TEXT,
            {"texts": ["a"], "dimensionality": 0},
            "dimensionality must be a whole number >= 1, got 0",
        ),
    ],
)
def test_embedding_refusals(endpoint: Any, params: dict[str, Any], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        built(endpoint, **params)
