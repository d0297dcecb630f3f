"""Sync answers: speech-to-text (ElevenLabs seconds, AssemblyAI milliseconds), VLM chat (no envelope, text
fallbacks, fences, errored answers, token prices per model and tier, schema validation) and embeddings (all
three text shapes)."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_mavi.exceptions import (
    MaviAuthenticationError,
    MaviBadRequestError,
    MaviInsufficientBalanceError,
    MaviRateLimitError,
    MaviServerError,
)
from airflow_provider_mavi.results import (
    ChatAnswerError,
    FieldError,
    parse_assemblyai_answer,
    parse_chat_answer,
    parse_elevenlabs_answer,
    parse_text_embeddings,
    parse_video_embedding,
    strip_json_fence,
)

from .. import mavi_examples as ex
from .conftest import changed, dropped

# ------------------------------------------------------------------------------------------ speech-to-text


def test_elevenlabs_words_are_in_seconds() -> None:
    result = parse_elevenlabs_answer(ex.ELEVENLABS_ANSWER["data"])
    assert result.provider == "elevenlabs"
    assert result.time_unit == "s"
    assert result.text == "Hello, how are you today? I'm doing well, thank you."
    assert (result.language_code, result.language_probability) == ("en", 0.98)
    hello, space = result.words
    assert (hello.text, hello.start, hello.end, hello.speaker, hello.type) == (
        "Hello,",
        0.0,
        0.52,
        "speaker_0",
        "word",
    )
    assert (space.text, space.type, space.speaker) == (" ", "spacing", None)
    # No duration in the answer: no price until it is known ($0.39 per hour, billed per started second).
    assert result.cost_usd is None
    assert "no audio duration" in (result.cost_note or "")
    assert result.with_duration(3600).cost_usd == 0.39
    assert result.with_duration(0.2).cost_usd == round(0.39 / 3600, 6)


def test_assemblyai_words_are_converted_from_milliseconds_keeping_the_raw_value() -> None:
    result = parse_assemblyai_answer(ex.ASSEMBLYAI_ANSWER["data"])
    assert result.provider == "assemblyai"
    assert result.time_unit == "ms"
    (word,) = result.words
    assert (word.start, word.end, word.raw_start, word.raw_end) == (0.0, 0.52, 0, 520)
    assert (word.speaker, word.confidence, word.type) == ("A", 0.99, None)
    assert (result.transcript_id, result.status, result.language_code) == (
        "9a27d0d5-d2db-448c-823c-f098507789be",
        "completed",
        "en_us",
    )
    assert result.audio_duration_seconds == 52
    assert result.cost_usd == round(52 * 0.15 / 3600, 6)  # $0.15 per audio hour


def test_the_signed_audio_url_never_reaches_the_result() -> None:
    signed = changed(
        ex.ASSEMBLYAI_ANSWER["data"], "https://storage.googleapis.com/b/o?X-Goog-Signature=SIG", "audio_url"
    )
    assert "SIG" not in json.dumps(parse_assemblyai_answer(signed).to_dict())


def test_an_assemblyai_duration_shorter_than_its_words_gives_no_price() -> None:
    late = changed(ex.ASSEMBLYAI_ANSWER["data"], 90_000, "words", 0, "end")  # 90 s, audio_duration 52
    result = parse_assemblyai_answer(late)
    assert result.cost_usd is None
    assert "unit is unclear" in (result.cost_note or "")


def test_a_negative_audio_duration_is_refused() -> None:
    with pytest.raises(FieldError, match=r"data.audio_duration' is negative"):
        parse_assemblyai_answer(changed(ex.ASSEMBLYAI_ANSWER["data"], -52, "audio_duration"))


def test_an_assemblyai_status_other_than_completed_is_an_error() -> None:
    failed = {**ex.ASSEMBLYAI_ANSWER["data"], "status": "error", "error": "audio too short"}
    with pytest.raises(MaviServerError, match=r"status 'error'.*audio too short"):
        parse_assemblyai_answer(failed)


def test_no_speech_gives_empty_text_and_no_words() -> None:
    silent = {"id": "x", "status": "completed", "text": None, "words": None, "audio_duration": 3}
    result = parse_assemblyai_answer(silent)
    assert (result.text, result.words, result.cost_usd) == ("", (), round(3 * 0.15 / 3600, 6))


@pytest.mark.parametrize(
    ("parse", "data", "field"),
    [
        (parse_elevenlabs_answer, None, "'data'"),
        (parse_elevenlabs_answer, {"text": 5}, "data.text"),
        (parse_elevenlabs_answer, {"text": "a", "words": {}}, "data.words"),
        (
            parse_elevenlabs_answer,
            {"text": "a", "words": [{"text": "a", "start": 0}]},
            r"data.words\[0\].end",
        ),
        (
            parse_elevenlabs_answer,
            {"text": "a", "words": [{"text": "a", "start": 0, "end": 1, "speaker_id": 0}]},
            "speaker_id",
        ),
        (
            parse_assemblyai_answer,
            {"text": "a", "words": [{"text": "a", "start": "0", "end": 1}]},
            r"data.words\[0\].start",
        ),
        (parse_assemblyai_answer, {"text": "a", "audio_duration": "52"}, "data.audio_duration"),
        (
            parse_assemblyai_answer,
            {"text": "a", "words": [{"text": "a", "start": 0, "end": 1, "confidence": "hi"}]},
            "confidence",
        ),
    ],
)
def test_a_malformed_speech_to_text_answer_names_the_field(parse: Any, data: Any, field: str) -> None:
    with pytest.raises(FieldError, match=field):
        parse(data)


# ------------------------------------------------------------------------------------------ VLM chat


def test_gemini_answer_and_its_token_price() -> None:
    answer = parse_chat_answer(ex.VLM_GEMINI_ANSWER)
    assert answer.text.startswith("This video demonstrates the effects of vacuum")
    assert (answer.model, answer.status, answer.answer_id) == (
        "gemini:gemini-2.5-flash",
        "completed",
        "resp_5810813e-99b9-427a-8736-23cf34573627",
    )
    assert (answer.usage.input_tokens, answer.usage.output_tokens, answer.usage.total_tokens) == (
        16983,
        37,
        17020,
    )
    assert answer.cost_usd == round((16983 * 0.30 + 37 * 2.5) / 1e6, 6)  # $0.30 / $2.5 per 1M
    assert answer.parsed is None


def test_nova_answer_reads_message_content_and_output_token_sic() -> None:
    answer = parse_chat_answer(ex.VLM_NOVA_ANSWER)
    assert answer.text == "Three oranges in a vacuum chamber."
    assert (answer.usage.input_tokens, answer.usage.output_tokens) == (1200, 12)
    assert answer.cost_usd == round((1200 * 0.06 + 12 * 0.24) / 1e6, 6)


def test_qwen_answer_without_usage_has_no_price_and_says_why() -> None:
    answer = parse_chat_answer(ex.VLM_QWEN_ANSWER)
    assert (answer.text, answer.model) == ("A person peels an orange.", "qwen3-vl-plus")
    assert (answer.cost_usd, answer.cost_note) == (None, "the answer reports no token usage")


def test_qwen_tiers_follow_the_input_tokens() -> None:
    def priced(tokens: int) -> float | None:
        body = {**ex.VLM_QWEN_ANSWER, "usage": {"input_tokens": tokens, "output_tokens": 1000}}
        return parse_chat_answer(body).cost_usd

    assert priced(32_000) == round(32 * 0.00021 + 0.00168, 6)  # <= 32K
    assert priced(32_001) == round(32.001 * 0.00031 + 0.00252, 6)  # 32K-128K
    assert priced(256_000) == round(256 * 0.00063 + 0.00503, 6)  # 128K-256K
    assert priced(256_001) is None  # beyond the documented tiers: no guess


def test_gemini_pro_tier_is_picked_by_input_tokens() -> None:
    body = {**ex.VLM_GEMINI_ANSWER, "model": "gemini:gemini-2.5-pro"}
    small = parse_chat_answer({**body, "usage": {"input_tokens": 200_000, "output_tokens": 0}})
    large = parse_chat_answer({**body, "usage": {"input_tokens": 200_001, "output_tokens": 0}})
    assert (small.cost_usd, large.cost_usd) == (0.25, round(200_001 * 2.5 / 1e6, 6))


def test_a_model_outside_the_table_is_priced_as_unknown() -> None:
    answer = parse_chat_answer({**ex.VLM_GEMINI_ANSWER, "model": "gemini:gemini-9-ultra"})
    assert answer.cost_usd is None
    assert "not in mavi-api.md §12.9's price table" in (answer.cost_note or "")


def test_the_model_comes_from_meta_when_the_answer_has_none() -> None:
    body = dropped(ex.VLM_GEMINI_ANSWER, "model")
    assert parse_chat_answer(body).model == "gemini:gemini-2.5-flash"


@pytest.mark.parametrize(
    "choice",
    [
        {"message": {"content": [{"type": "text", "text": '{"a": 1}'}]}},
        {"message": {"content": None, "tool_calls": [{"function": {"arguments": '{"a": 1}'}}]}},
        {"message": {"content": [{"toolUse": {"name": "answer", "input": {"a": 1}}}]}},
    ],
)
def test_a_nova_tool_answer_is_read_as_the_text(choice: dict[str, Any]) -> None:
    answer = parse_chat_answer({**ex.VLM_NOVA_ANSWER, "choices": [choice]})
    assert json.loads(answer.text) == {"a": 1}


@pytest.mark.parametrize(
    ("body", "error", "message"),
    [
        (
            ex.VLM_ERRORED_ANSWER,
            MaviBadRequestError,
            "status 'errored', error code 400.*Model input cannot be empty",
        ),
        (
            {"status": "errored", "error": {"code": 429, "message": "slow down"}},
            MaviRateLimitError,
            "slow down",
        ),
        (
            {"status": "errored", "error": {"code": 401, "message": "bad key"}},
            MaviAuthenticationError,
            "bad key",
        ),
        ({"status": "errored"}, MaviServerError, "no message"),
        ({"error": "quota exceeded", "choices": []}, MaviServerError, "quota exceeded"),
        # Mavi's own envelope inside a 200 (no choices): mapped like any envelope.
        ({"code": 402, "msg": "Insufficient balance", "data": None}, MaviInsufficientBalanceError, "Top up"),
        ({"code": 401, "msg": "Unauthorized", "data": None}, MaviAuthenticationError, "Unauthorized"),
    ],
)
def test_an_errored_answer_is_a_clear_mavi_error(body: dict[str, Any], error: type, message: str) -> None:
    with pytest.raises(error, match=message) as info:
        parse_chat_answer(body)
    assert info.value.status == 200


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ("<html>", "answer body"),
        ({"choices": None}, "'choices'"),
        ({"choices": []}, "'choices' is empty"),
        ({"choices": [{"index": 0}]}, r"choices\[0\]"),
        ({"choices": [{"message": {"content": 5}}]}, r"choices\[0\].message.content"),
        ({"choices": [{"text": "a"}], "usage": {"input_tokens": -1}}, "usage.input_tokens"),
        ({"choices": [{"text": "a"}], "model": 3}, "'model'"),
    ],
)
def test_a_malformed_chat_answer_names_the_field(body: Any, field: str) -> None:
    with pytest.raises(FieldError, match=field):
        parse_chat_answer(body)


@pytest.mark.parametrize(
    ("text", "plain"),
    [
        ('```json\n{"a": 1}\n```', '{"a": 1}'),
        ('  ```JSON\n{"a": 1}```  ', '{"a": 1}'),
        ("```\n[1, 2]\n```\n", "[1, 2]"),
        ('{"a": 1}', '{"a": 1}'),
        ("Use ```json blocks``` like this", "Use ```json blocks``` like this"),
    ],
)
def test_a_json_fence_is_stripped(text: str, plain: str) -> None:
    assert strip_json_fence(text) == plain


SCHEMA = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}


def _answer(text: str) -> Any:
    return parse_chat_answer({**ex.VLM_GEMINI_ANSWER, "choices": [{"text": text, "index": 0}]})


def test_validated_parses_the_fenced_json_against_the_schema() -> None:
    answer = _answer('```json\n{"summary": "oranges"}\n```').validated(SCHEMA)
    assert answer.parsed == {"summary": "oranges"}
    assert answer.to_dict()["parsed"] == {"summary": "oranges"}
    assert _answer("free text").validated(None).parsed is None  # no schema: left as text


def test_an_answer_that_does_not_validate_says_where() -> None:
    with pytest.raises(ChatAnswerError, match=r"at \$: 'summary' is a required property"):
        _answer('{"title": "x"}').validated(SCHEMA)
    with pytest.raises(ChatAnswerError, match=r"at \$.summary: 3 is not of type 'string'"):
        _answer('{"summary": 3}').validated(SCHEMA)
    with pytest.raises(ChatAnswerError, match=r"not JSON .*it begins: 'Sure! Here"):
        _answer("Sure! Here is the summary.").validated(SCHEMA)
    assert issubclass(ChatAnswerError, MaviServerError)


# ------------------------------------------------------------------------------------------ embeddings


def test_video_embedding_is_one_vector() -> None:
    result = parse_video_embedding(ex.VIDEO_EMBEDDING_ANSWER["data"])
    assert result.vectors == ((0.015625, -0.0234375, 0.03125),)
    assert (result.count, result.dimensions, result.shape) == (1, 3, (1, 3))
    assert result.cost_usd is None
    assert "§12.10" in (result.cost_note or "")


def test_text_embeddings_in_all_three_shapes() -> None:
    newest = [{"embedding": [0.1, 0.2]}, {"embedding": [0.3, 0.4]}]
    assert parse_text_embeddings(newest).vectors == ((0.1, 0.2), (0.3, 0.4))
    one = parse_text_embeddings(ex.TEXT_EMBEDDING_ONE_ANSWER["data"])
    assert one.vectors == ((-0.031649195, 0.00069497403, 0.011988669),)
    many = parse_text_embeddings(ex.TEXT_EMBEDDING_MANY_ANSWER["data"])
    assert many.shape == (2, 3)
    # Tokens are not returned: the price is unknown, and the note says so (no estimate).
    assert many.cost_usd is None
    assert (
        many.cost_note == "$0.0000002 per token, but Mavi's answer reports no token count (never estimated)"
    )
    assert many.expect_count(2) is many
    with pytest.raises(MaviServerError, match=r"2 embedding vector\(s\) for 3 input\(s\)"):
        many.expect_count(3)


def test_the_documents_truncated_example_is_refused_for_its_ragged_vectors() -> None:
    # mavi-api.md's newest example shows 3 and 2 values ("real vectors have dimensionality entries"):
    # vectors of different lengths cannot form one array, so such an answer is refused, naming the lengths.
    with pytest.raises(FieldError, match=r"holds vectors of different lengths \(\[2, 3\]\)"):
        parse_text_embeddings(ex.TEXT_EMBEDDING_ANSWER["data"])


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "'data' is an empty list"),
        ([{"vector": [1]}], r"data\[0\].embedding"),
        ({"embedding": []}, "data.embedding' is an empty vector"),
        ({"embedding": [1, "2"]}, r"data.embedding\[1\]"),
        ({"embedding": [1, None]}, r"data.embedding\[1\]"),
        ({"embeddings": []}, "data.embeddings' is an empty list"),
        ({"embeddings": [[1], 2]}, r"data.embeddings\[1\]"),
        ({"embedding": [1], "embeddings": [[1]]}, "both 'embedding' and 'embeddings'"),
        ({}, "data.embedding"),
        ("x", "'data'"),
    ],
)
def test_a_malformed_text_embedding_names_the_field(data: Any, field: str) -> None:
    with pytest.raises(FieldError, match=field):
        parse_text_embeddings(data)


def test_a_malformed_video_embedding_names_the_field() -> None:
    with pytest.raises(FieldError, match=r"data\.embedding"):
        parse_video_embedding({"embeddings": [[1.0]]})
