"""MaviSpeechToTextOperator without a server: argument checks, result shaping, captions."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import webvtt

from airflow_provider_mavi.operators.captions import segments_from_words, segments_to_srt
from airflow_provider_mavi.operators.mavi import MaviOperatorError, MaviSpeechToTextOperator
from airflow_provider_mavi.operators.speech import seconds_from
from airflow_provider_mavi.results import parse_assemblyai_answer, parse_elevenlabs_answer

from .. import mavi_examples as ex


class PaidHook:
    """Answers each call with the next scripted answer and counts the paid calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, endpoint: Any, /, **params: Any) -> Any:
        self.calls.append((endpoint.name, params))
        return self.answers.pop(0)


def make(hook: PaidHook, **kwargs: Any) -> MaviSpeechToTextOperator:
    kwargs.setdefault("task_id", "stt")
    op = MaviSpeechToTextOperator(**kwargs)
    op.hook = hook  # type: ignore[assignment]
    return op


# ------------------------------------------------------------------------------------- arguments


@pytest.mark.parametrize(
    ("sources", "said"),
    [
        ({}, "got none"),
        ({"asset_id": "re_1", "url": "https://a.example/x.mp3"}, "got asset_id and url"),
        ({"url": "https://a.example/x.mp3", "source_url": "gs://b/x.mp3"}, "got url and source_url"),
    ],
)
def test_exactly_one_source_when_the_dag_is_parsed(sources: dict[str, str], said: str) -> None:
    with pytest.raises(ValueError, match=f"exactly one audio source.*{said}"):
        MaviSpeechToTextOperator(task_id="stt", **sources)


def test_options_are_taken_apart_from_the_operator_arguments() -> None:
    op = MaviSpeechToTextOperator(task_id="stt", asset_id="re_1", language_code="en", diarize=True, retries=2)
    assert op.options == {"language_code": "en", "diarize": True}
    assert op.retries == 2
    assert "options" in op.template_fields


def test_an_option_of_another_provider_is_refused_when_parsed() -> None:
    with pytest.raises(ValueError, match=r"speaker_labels are not options of provider 'elevenlabs'"):
        MaviSpeechToTextOperator(task_id="stt", asset_id="re_1", speaker_labels=True)


def test_an_unknown_argument_is_airflows_error() -> None:
    with pytest.raises(TypeError, match="languge_code"):
        MaviSpeechToTextOperator(task_id="stt", asset_id="re_1", languge_code="en")


def test_sources_rendered_to_several_are_refused_before_sending(run: Any) -> None:
    hook = PaidHook()
    op = make(hook, asset_id="{{ params.asset }}")
    op.url = "https://a.example/x.mp3"  # as a second template would render
    op.asset_id = "re_1"
    with pytest.raises(
        MaviOperatorError, match=r"asset_id and url of asset_id, url, source_url is set\. Nothing"
    ):
        op.execute(run.context("stt"))
    assert hook.calls == []


def test_a_source_rendered_empty_is_refused_before_sending(run: Any) -> None:
    hook = PaidHook()
    op = make(hook, asset_id="{{ params.asset }}")
    op.asset_id = ""
    with pytest.raises(MaviOperatorError, match="none of asset_id, url, source_url is set"):
        op.execute(run.context("stt"))
    assert hook.calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"provider": "whisper"}, "provider must be one of elevenlabs, assemblyai, got 'whisper'"),
        (
            {"url": "ftp://a.example/x.mp3"},
            "url must be an absolute https:// or http:// URL, got a ftp:// URL. Nothing was sent",
        ),
        ({"timestamps_granularity": "char"}, "timestamps_granularity must be one of"),
        ({"audio_duration_seconds": "-3"}, "audio_duration_seconds must be a finite number"),
    ],
)
def test_bad_values_fail_before_anything_is_sent(run: Any, kwargs: dict[str, Any], message: str) -> None:
    hook = PaidHook()
    if "url" not in kwargs:
        kwargs["asset_id"] = "re_1"
    with pytest.raises(MaviOperatorError, match=message):
        make(hook, **kwargs).execute(run.context("stt"))
    assert hook.calls == []


def test_seconds_from() -> None:
    assert seconds_from({"duration_seconds": 6.5}, "d") == 6.5
    assert seconds_from("12", "d") == 12.0
    assert seconds_from("None", "d") is None
    for bad in (True, "abc", float("inf"), -1):
        with pytest.raises(MaviOperatorError, match="d must be a finite number of seconds"):
            seconds_from(bad, "d")


# ------------------------------------------------------------------------------------- results


def test_elevenlabs_example_priced_with_the_uploads_duration(run: Any) -> None:
    hook = PaidHook(parse_elevenlabs_answer(ex.ELEVENLABS_ANSWER["data"]))
    result = make(hook, asset_id="re_1", audio_duration_seconds={"duration_seconds": 3600}).execute(
        run.context("stt")
    )
    assert hook.calls == [("speech_to_text_elevenlabs", {"asset_id": "re_1"})]
    assert result["text"] == "Hello, how are you today? I'm doing well, thank you."
    assert result["language_code"] == "en"
    assert result["segments"] == [{"start": 0.0, "end": 0.52, "text": "Hello,", "speaker": "speaker_0"}]
    assert result["words"][1] == {
        "text": " ",
        "start": 0.52,
        "end": 0.52,
        "speaker": None,
        "type": "spacing",
        "confidence": None,
    }
    assert result["cost_usd"] == pytest.approx(0.39)  # one audio hour
    assert run.xcom("stt", "mavi_cost_usd") == pytest.approx(0.39)


def test_assemblyai_example_in_seconds(run: Any) -> None:
    hook = PaidHook(parse_assemblyai_answer(ex.ASSEMBLYAI_ANSWER["data"]))
    result = make(hook, url="https://a.example/x.mp3", provider="assemblyai", speaker_labels=True).execute(
        run.context("stt")
    )
    assert hook.calls == [
        ("speech_to_text_assemblyai", {"url": "https://a.example/x.mp3", "speaker_labels": True})
    ]
    assert result["words"][0]["end"] == pytest.approx(0.52)  # 520 ms
    assert result["transcript_id"] == "9a27d0d5-d2db-448c-823c-f098507789be"
    assert result["asset_id"] is None
    assert result["cost_usd"] == round(52 * 0.15 / 3600, 6)
    assert "audio_url" not in json.dumps(result)  # AssemblyAI's signed URL is never kept


def test_output_files_and_a_small_xcom(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(parse_elevenlabs_answer(ex.ELEVENLABS_ANSWER["data"]))
    result = make(hook, asset_id="re_1", output_path=str(tmp_path / "new" / "dir")).execute(
        run.context("stt")
    )
    assert set(result) == {
        "provider",
        "asset_id",
        "text",
        "language_code",
        "language_probability",
        "transcript_id",
        "audio_duration_seconds",
        "cost_usd",
        "cost_note",
        "segment_count",
        "word_count",
        "json_path",
        "vtt_path",
        "srt_path",
    }
    assert Path(result["json_path"]).name == "re_1.elevenlabs.json"
    assert json.loads(Path(result["json_path"]).read_text())["words"][0]["text"] == "Hello,"
    (caption,) = webvtt.read(result["vtt_path"]).captions
    assert (caption.start, caption.end, caption.voice, caption.text) == (
        "00:00:00.000",
        "00:00:00.520",
        "speaker_0",
        "Hello,",
    )
    (cue,) = webvtt.from_srt(result["srt_path"]).captions
    assert (cue.start, cue.end, cue.text) == ("00:00:00.000", "00:00:00.520", "Hello,")


# ------------------------------------------------------------------------------------- captions


def word(
    text: str, start: float, end: float, speaker: str | None = "A", kind: str = "word"
) -> dict[str, Any]:
    return {"text": text, "start": start, "end": end, "speaker": speaker, "type": kind}


def test_segments_break_at_speakers_pauses_sentences_and_length() -> None:
    words = [
        word("Hi", 0.0, 0.3),
        word(" ", 0.3, 0.3, None, "spacing"),
        word("there.", 0.4, 0.8),
        word("New", 0.9, 1.0),  # after a sentence's end
        word("one", 1.1, 1.2),
        word("Yes", 1.3, 1.5, "B"),  # another speaker
        word("later", 3.0, 3.2, "B"),  # a pause of 1.5 s
        *[word(f"w{i}", 3.3 + i, 3.8 + i, "B") for i in range(12)],  # over 10 s
    ]
    segments = segments_from_words(words)
    assert [(s["text"], s["speaker"]) for s in segments[:4]] == [
        ("Hi there.", "A"),
        ("New one", "A"),
        ("Yes", "B"),
        ("later w0 w1 w2 w3 w4 w5 w6 w7 w8 w9", "B"),
    ]
    assert segments[3]["end"] - segments[3]["start"] == pytest.approx(9.8)
    assert segments[4]["text"] == "w10 w11"
    assert segments_from_words([word(" ", 0, 0, None, "spacing"), word("", 1, 2)]) == []


def test_srt_keeps_plain_text_and_sorts(tmp_path: Path) -> None:
    text = segments_to_srt(
        [
            {"start": 5.0, "end": 5.0, "text": "Tom <3 Jerry & co --> end"},
            {"start": 0.0, "end": 3723.5, "text": "first\n\n  line two  "},
        ]
    )
    assert text == (
        "1\n00:00:00,000 --> 01:02:03,500\nfirst\nline two\n\n"
        "2\n00:00:05,000 --> 00:00:05,001\nTom <3 Jerry & co -> end\n"
    )
    (tmp_path / "x.srt").write_text(text)
    assert len(webvtt.from_srt(str(tmp_path / "x.srt")).captions) == 2
