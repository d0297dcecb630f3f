"""MaviVideoChatOperator against the emulator (which fetches the video and measures it), no bridge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from airflow.sdk.io.store import attach
from fsspec import AbstractFileSystem, register_implementation

from airflow_provider_mavi.operators.mavi import MaviOperatorError, MaviVideoChatOperator
from airflow_provider_mavi.results import ChatAnswerError

CHAT = "POST /vu/chat/completions"
GEMINI = "gemini:gemini-2.5-flash"
NOVA = "nova:us.amazon.nova-lite-v1:0"
SCHEMA = {
    "type": "object",
    "properties": {"summary": {"type": "string"}, "scene_count": {"type": "integer"}},
    "required": ["summary", "scene_count"],
}


def paid(server: Any) -> list[dict[str, Any]]:
    """The paid chat calls the emulator recorded."""
    return [job for job in server.stats()["jobs"] if job["kind"] == "vlm_chat"]


class SigningFileSystem(AbstractFileSystem):
    """An object store that can only presign: `signfs://bucket/<name>` → the test's file server."""

    protocol = "signfs"
    base_url = ""  # set by each test

    def sign(self, path: str, expiration: int = 100, **kwargs: Any) -> str:
        name = path.rsplit("/", 1)[-1]
        return f"{self.base_url}/{name}?X-Signature=secret-sig-456&Expires={expiration}"


def test_gemini_url_with_a_schema_gives_the_validated_object(
    sync_emulator: Any, file_server: Any, tmp_path: Path, run: Any
) -> None:
    op = MaviVideoChatOperator(
        task_id="ask",
        model=GEMINI,
        video=f"{file_server.url}/video.mp4",
        prompt="Summarise the video and count its scenes.",
        response_schema=SCHEMA,
        output_path=str(tmp_path / "answers" / "ask.json"),
        max_tokens=500,
    )
    result = op.execute(run.context("ask"))
    assert set(result["parsed"]) == {"summary", "scene_count"}
    assert isinstance(result["parsed"]["scene_count"], int)
    assert result["text"].startswith("```json")  # as Gemini sends it; parsed without the fence
    assert result["model"] == GEMINI
    assert result["answer_id"]
    assert result["usage"]["input_tokens"] > 0
    assert result["cost_usd"] == pytest.approx(paid(sync_emulator)[0]["cost_usd"])
    assert run.xcom("ask", "mavi_cost_usd") == result["cost_usd"]
    written = json.loads(Path(result["json_path"]).read_text())
    assert written["parsed"] == result["parsed"]


def test_gemini_refuses_a_local_file_before_sending(sync_emulator: Any, sample_video: Path, run: Any) -> None:
    op = MaviVideoChatOperator(task_id="ask", model=GEMINI, video=str(sample_video), prompt="What is shown?")
    with pytest.raises(MaviOperatorError, match=r"gemini: models cannot take a local file.*presign"):
        op.execute(run.context("ask"))
    assert sync_emulator.stats()["requests"].get(CHAT, 0) == 0


def test_nova_takes_a_local_file_inline(sync_emulator: Any, sample_video: Path, run: Any) -> None:
    op = MaviVideoChatOperator(task_id="ask", model=NOVA, video=str(sample_video), prompt="What is shown?")
    result = op.execute(run.context("ask"))
    assert "Scenes:" in result["text"]  # the emulator measured the video it was sent
    assert result["cost_usd"] == pytest.approx(paid(sync_emulator)[0]["cost_usd"])


def test_nova_refuses_a_file_over_the_inline_limit(sync_emulator: Any, sample_video: Path, run: Any) -> None:
    op = MaviVideoChatOperator(
        task_id="ask", model=NOVA, video=str(sample_video), prompt="What?", max_inline_bytes=1000
    )
    with pytest.raises(MaviOperatorError, match="over max_inline_bytes"):
        op.execute(run.context("ask"))
    assert sync_emulator.stats()["requests"].get(CHAT, 0) == 0


@pytest.mark.filterwarnings("ignore:UPath 'signfs' filesystem not explicitly implemented")
def test_an_object_store_path_is_presigned_when_asked(
    sync_emulator: Any, file_server: Any, tmp_path: Path, run: Any
) -> None:
    SigningFileSystem.base_url = file_server.url
    register_implementation("signfs", SigningFileSystem, clobber=True)  # known to fsspec (paths parse)
    attach("signfs", fs=SigningFileSystem())  # and to Airflow's object storage
    op = MaviVideoChatOperator(
        task_id="ask",
        model=GEMINI,
        video="signfs://bucket/video.mp4",
        prompt="What is shown?",
        presign_expires=600,
        output_path=str(tmp_path / "a.json"),
    )
    result = op.execute(run.context("ask"))
    assert "Scenes:" in result["text"]
    kept = json.dumps(run.stores[("ask", -1)].values)
    for where in (json.dumps(result), kept, (tmp_path / "a.json").read_text()):
        assert "secret-sig-456" not in where
    # Not asked to presign: refused, with what to do.
    plain = MaviVideoChatOperator(task_id="ask2", model=GEMINI, video="signfs://bucket/video.mp4", prompt="?")
    with pytest.raises(MaviOperatorError, match=r"cannot take a signfs:// object.*presign_expires"):
        plain.execute(run.context("ask2"))
    assert len(paid(sync_emulator)) == 1


def test_an_answer_that_does_not_match_the_schema_names_the_paid_call(
    sync_emulator: Any, file_server: Any, run: Any
) -> None:
    schema = {
        "type": "object",
        "properties": {"verdict": {"type": "string", "pattern": "^(SAFE|UNSAFE)$"}},
        "required": ["verdict"],
    }  # Gemini's responseSchema cannot carry `pattern`: it is checked here, and the emulator ignores it
    op = MaviVideoChatOperator(
        task_id="ask",
        model=GEMINI,
        video=f"{file_server.url}/video.mp4",
        prompt="Verdict?",
        response_schema=schema,
    )
    with pytest.raises(ChatAnswerError) as caught:
        op.execute(run.context("ask"))
    message = str(caught.value)
    (_job,) = paid(sync_emulator)
    assert f"of {GEMINI} (cost $" in message
    assert "does not match response_schema at $.verdict" in message
    assert "a retry of this task asks, and pays, again" in message
    assert run.stores[("ask", -1)].values == {}  # nothing kept: the answer is unusable
    assert run.xcom("ask", "mavi_cost_usd") is None


def test_a_retry_after_the_output_failed_pays_nothing(
    sync_emulator: Any, file_server: Any, tmp_path: Path, run: Any
) -> None:
    target = tmp_path / "out" / "answer.json"
    target.mkdir(parents=True)  # a directory where the file goes: the write fails after the answer

    def op() -> MaviVideoChatOperator:
        return MaviVideoChatOperator(
            task_id="ask",
            model=GEMINI,
            video=f"{file_server.url}/video.mp4",
            prompt="Summarise.",
            response_schema=SCHEMA,
            output_path=str(target),
        )

    with pytest.raises(IsADirectoryError):
        op().execute(run.context("ask"))
    target.rmdir()
    result = op().execute(run.context("ask"))
    assert len(paid(sync_emulator)) == 1
    assert json.loads(target.read_text())["parsed"] == result["parsed"]
    assert (
        run.xcom("ask", "mavi_cost_usd")
        == result["cost_usd"]
        == pytest.approx(paid(sync_emulator)[0]["cost_usd"])
    )
