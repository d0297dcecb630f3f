"""MaviVideoChatOperator without a server: arguments, the video sources, schema checks, result shaping."""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.io.store import attach
from fsspec import AbstractFileSystem, register_implementation

from airflow_provider_mavi.operators.mavi import MaviOperatorError, MaviVideoChatOperator
from airflow_provider_mavi.operators.video_source import guess_video_mime, video_reference
from airflow_provider_mavi.results import ChatAnswerError, parse_chat_answer

from .. import mavi_examples as ex

GEMINI = "gemini:gemini-2.5-flash"
NOVA = "nova:us.amazon.nova-lite-v1:0"
URL = "https://cdn.example/clip.mp4"


class PaidHook:
    """Answers each call with the next scripted answer and counts the paid calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, endpoint: Any, /, **params: Any) -> Any:
        self.calls.append((endpoint.name, params))
        return self.answers.pop(0)


def gemini_answer(text: str | None = None) -> Any:
    body = json.loads(json.dumps(ex.VLM_GEMINI_ANSWER))
    if text is not None:
        body["choices"][0]["text"] = text
    return parse_chat_answer(body)


def make(hook: PaidHook, **kwargs: Any) -> MaviVideoChatOperator:
    kwargs.setdefault("task_id", "ask")
    kwargs.setdefault("model", GEMINI)
    kwargs.setdefault("video", URL)
    if "messages" not in kwargs:
        kwargs.setdefault("prompt", "What happens?")
    op = MaviVideoChatOperator(**kwargs)
    op.hook = hook  # type: ignore[assignment]
    return op


# ------------------------------------------------------------------------------------- arguments


def test_prompt_or_messages() -> None:
    with pytest.raises(ValueError, match="either prompt or messages, not both or neither"):
        MaviVideoChatOperator(task_id="a", model=GEMINI, video=URL)
    with pytest.raises(ValueError, match="either prompt or messages"):
        MaviVideoChatOperator(
            task_id="a", model=GEMINI, prompt="?", messages=[{"role": "user", "content": "?"}]
        )


def test_a_bad_schema_or_setting_fails_when_the_dag_is_parsed() -> None:
    with pytest.raises(ValueError, match="response_schema is not a valid JSON Schema"):
        MaviVideoChatOperator(task_id="a", model=GEMINI, prompt="?", response_schema={"type": "objet"})
    with pytest.raises(ValueError, match="presign_expires must be a whole number"):
        MaviVideoChatOperator(task_id="a", model=GEMINI, prompt="?", presign_expires=0)
    with pytest.raises(ValueError, match="max_inline_bytes must be a whole number"):
        MaviVideoChatOperator(task_id="a", model=GEMINI, prompt="?", max_inline_bytes=-1)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"model": "gemini-2.5-flash"}, "model must be '<provider>:<model>'"),
        ({"output_path": "/tmp/answer.txt"}, "output_path must be a .json file"),
        ({"model": "qwen:qwen3-vl-plus"}, "Mavi does not document how to send a video to a qwen: model"),
        ({"temperature": 3}, "temperature must be"),
        ({"messages": [{"role": "robot", "content": "hi"}], "prompt": None}, "messages\\[0\\].role"),
    ],
)
def test_bad_requests_fail_before_anything_is_sent(run: Any, kwargs: dict[str, Any], message: str) -> None:
    hook = PaidHook()
    with pytest.raises(MaviOperatorError, match=message):
        make(hook, **kwargs).execute(run.context("ask"))
    assert hook.calls == []


# ------------------------------------------------------------------------------------- video sources


def test_urls_and_data_uris_go_as_given() -> None:
    for video in (URL, "http://10.0.0.1/v.mov", "data:video/mp4;base64,AAAA"):
        assert (
            video_reference(video, "gemini", mime_type="video/mp4", presign_expires=None, max_inline_bytes=1)
            == video
        )


def test_a_local_file_goes_inline_to_nova_only(tmp_path: Path) -> None:
    clip = tmp_path / "clip.mov"
    clip.write_bytes(b"\x00\x01moov")
    sent = video_reference(
        str(clip), "nova", mime_type=guess_video_mime(str(clip)), presign_expires=None, max_inline_bytes=100
    )
    assert sent == "data:video/quicktime;base64," + base64.b64encode(b"\x00\x01moov").decode()
    with pytest.raises(MaviOperatorError, match=r"over max_inline_bytes \(3\)"):
        video_reference(str(clip), "nova", mime_type="video/mp4", presign_expires=None, max_inline_bytes=3)
    with pytest.raises(MaviOperatorError, match=r"gemini: models cannot take a local file.*Give an http"):
        video_reference(
            str(clip), "gemini", mime_type="video/mp4", presign_expires=None, max_inline_bytes=100
        )
    with pytest.raises(MaviOperatorError, match="presign_expires applies to object storage"):
        video_reference(str(clip), "gemini", mime_type="video/mp4", presign_expires=60, max_inline_bytes=100)
    with pytest.raises(MaviOperatorError, match="does not exist"):
        video_reference(
            str(tmp_path / "no.mp4"), "nova", mime_type="video/mp4", presign_expires=None, max_inline_bytes=9
        )


class NoSigning(AbstractFileSystem):
    protocol = "nosignfs"


class Signing(AbstractFileSystem):
    protocol = "yessignfs"

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        return f"https://store.example/{path}?sig=abc&ttl={expiration}"


@pytest.mark.filterwarnings("ignore:UPath .* filesystem not explicitly implemented")
def test_presigning_an_object_store_path() -> None:
    for fs in (NoSigning, Signing):
        register_implementation(fs.protocol, fs, clobber=True)
        attach(fs.protocol, fs=fs())
    signed = video_reference(
        "yessignfs://bucket/v.mp4", "gemini", mime_type="video/mp4", presign_expires=900, max_inline_bytes=1
    )
    assert signed == "https://store.example/bucket/v.mp4?sig=abc&ttl=900"
    with pytest.raises(MaviOperatorError, match="nosignfs:// filesystem cannot presign URLs"):
        video_reference(
            "nosignfs://b/v.mp4", "gemini", mime_type="video/mp4", presign_expires=9, max_inline_bytes=1
        )
    with pytest.raises(
        MaviOperatorError, match=r"gemini: models cannot take a s3:// object.*presign_expires=3600"
    ):
        video_reference(
            "s3://b/v.mp4", "gemini", mime_type="video/mp4", presign_expires=None, max_inline_bytes=1
        )


def test_mime_types_from_names() -> None:
    assert guess_video_mime("https://a.example/v.webm?X-Sig=1") == "video/webm"
    assert guess_video_mime("/data/v.mov") == "video/quicktime"
    assert guess_video_mime("https://a.example/stream") == "video/mp4"
    assert guess_video_mime("/data/notes.txt") == "video/mp4"


# ------------------------------------------------------------------------------------- answers


def test_the_gemini_example_answer(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(gemini_answer())
    result = make(hook, output_path=str(tmp_path / "a" / "answer.json"), max_tokens=1000).execute(
        run.context("ask")
    )
    ((name, params),) = hook.calls
    assert name == "video_chat"
    assert (params["video"], params["mime_type"], params["max_tokens"]) == (URL, "video/mp4", 1000)
    assert result["answer_id"] == "resp_5810813e-99b9-427a-8736-23cf34573627"
    assert result["text"].startswith("This video demonstrates")
    assert result["parsed"] is None
    assert result["usage"] == {"input_tokens": 16983, "output_tokens": 37, "total_tokens": 17020}
    assert result["cost_usd"] == pytest.approx(16983 * 0.30 / 1e6 + 37 * 2.5 / 1e6, abs=1e-6)
    assert json.loads(Path(result["json_path"]).read_text())["text"] == result["text"]
    assert run.xcom("ask", "mavi_cost_usd") == result["cost_usd"]


def test_a_schema_gives_the_parsed_value(run: Any) -> None:
    schema = {"type": "object", "properties": {"summary": {"type": "string"}}, "required": ["summary"]}
    hook = PaidHook(gemini_answer('```json\n{"summary": "oranges in a vacuum"}\n```'))
    result = make(hook, response_schema=schema).execute(run.context("ask"))
    assert result["parsed"] == {"summary": "oranges in a vacuum"}
    assert hook.calls[0][1]["response_schema"] == schema


def test_an_answer_that_does_not_validate_names_the_paid_call(run: Any) -> None:
    schema = {"type": "object", "properties": {"count": {"type": "integer"}}, "required": ["count"]}
    hook = PaidHook(gemini_answer('{"count": "three"}'))
    with pytest.raises(ChatAnswerError) as caught:
        make(hook, response_schema=schema).execute(run.context("ask"))
    assert str(caught.value) == (
        "The paid answer resp_5810813e-99b9-427a-8736-23cf34573627 of gemini:gemini-2.5-flash "
        "(cost $0.005187) is not the JSON asked for: The model's JSON does not match response_schema at "
        "$.count: 'three' is not of type 'integer'. The answer is not kept: a retry of this task asks, and "
        "pays, again."
    )
    assert run.stores[("ask", -1)].values == {}


def test_an_answer_that_is_not_json(run: Any) -> None:
    schema = {"type": "object"}
    with pytest.raises(ChatAnswerError, match="is not the JSON asked for: The model's answer is not JSON"):
        make(PaidHook(gemini_answer("Sure! Here it is")), response_schema=schema).execute(run.context("ask"))
