"""The sync operators' shared flow (operators/sync.py, operators/answers.py) with a stand-in hook.

No network: the hook is a stand-in that counts the paid calls; the task state store is the in-memory one of
tests/conftest.py (JSON only, kept across 'tries' like Airflow's).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.operators.answers import STATE_KEY, AnswerMemory, fingerprint
from airflow_provider_mavi.operators.mavi import MaviEmbedVideoOperator, MaviSpeechToTextOperator
from airflow_provider_mavi.operators.sync import output_paths
from airflow_provider_mavi.results import parse_elevenlabs_answer, parse_video_embedding

from .. import mavi_examples as ex


class PaidHook:
    """Answers each call with the next scripted answer (or raises it) and counts the paid calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, endpoint: Any, /, **params: Any) -> Any:
        self.calls.append((endpoint.name, params))
        answer = self.answers.pop(0)
        if isinstance(answer, BaseException):
            raise answer
        return answer


class NoBridge:
    """Fails the test if an operator reaches for the bridge."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"a sync operator used the bridge ({name})")


def stt(hook: PaidHook, **kwargs: Any) -> MaviSpeechToTextOperator:
    kwargs.setdefault("task_id", "stt")
    kwargs.setdefault("asset_id", "re_1")
    op = MaviSpeechToTextOperator(**kwargs)
    op.hook = hook  # type: ignore[assignment]
    op.bridge_hook = NoBridge()  # type: ignore[assignment]
    return op


def elevenlabs() -> Any:
    return parse_elevenlabs_answer(ex.ELEVENLABS_ANSWER["data"])


def test_fingerprint_is_a_hash_of_what_is_asked() -> None:
    url = "https://bucket.example/a.mp3?X-Amz-Signature=secret"
    one = fingerprint("speech_to_text", {"url": url, "provider": "elevenlabs"})
    assert one == fingerprint("speech_to_text", {"provider": "elevenlabs", "url": url})  # order-free
    assert one != fingerprint("speech_to_text", {"url": url, "provider": "assemblyai"})
    assert one != fingerprint("video_chat", {"url": url, "provider": "elevenlabs"})
    assert "secret" not in one
    assert len(one) == 64


def test_output_paths() -> None:
    result = {
        "json_path": "/a.json",
        "vtt_path": "/a.vtt",
        "path": "s3://b/v.npy",
        "text": "x",
        "srt_path": None,
    }
    assert output_paths(result) == ["/a.json", "/a.vtt", "s3://b/v.npy"]


def test_the_answer_is_kept_and_a_retry_pays_nothing(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(elevenlabs())
    first = stt(hook, output_path=str(tmp_path)).execute(run.context("stt"))
    kept = run.stores[("stt", -1)].values[STATE_KEY]
    assert kept["result"] == first
    assert kept["answer"]["text"] == "Hello, how are you today? I'm doing well, thank you."
    second = stt(hook, output_path=str(tmp_path)).execute(run.context("stt"))
    assert second == first
    assert len(hook.calls) == 1
    assert run.xcom("stt", "mavi_cost_usd") is None  # ElevenLabs without a duration: unpriced


def test_outputs_removed_since_are_written_again_from_the_kept_answer(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(elevenlabs())
    first = stt(hook, output_path=str(tmp_path)).execute(run.context("stt"))
    Path(first["vtt_path"]).unlink()
    again = stt(hook, output_path=str(tmp_path)).execute(run.context("stt"))
    assert Path(again["vtt_path"]).read_text().startswith("WEBVTT")
    assert len(hook.calls) == 1


def test_a_kept_result_whose_files_are_gone_and_no_answer_pays_again(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(elevenlabs(), elevenlabs())
    first = stt(hook, output_path=str(tmp_path)).execute(run.context("stt"))
    store = run.stores[("stt", -1)]
    kept = store.values[STATE_KEY]
    assert kept["outputs"] == str(tmp_path)
    store.values[STATE_KEY] = {"fingerprint": kept["fingerprint"], "result": first, "outputs": str(tmp_path)}
    Path(first["json_path"]).unlink()
    stt(hook, output_path=str(tmp_path)).execute(run.context("stt"))
    assert len(hook.calls) == 2


def test_without_a_task_state_store_every_try_pays(run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    hook = PaidHook(elevenlabs(), elevenlabs())
    for _ in range(2):
        stt(hook).execute(run.context("stt", state_store=False))
    assert len(hook.calls) == 2
    assert (
        "No task state store (Airflow < 3.3): a retry of this task would pay again" in capsys.readouterr().out
    )


def test_an_unknown_outcome_is_noted_for_the_next_try(run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    lost = MaviServerError("HTTP 502. NOT resubmitted.", status=502, outcome_unknown=True)
    hook = PaidHook(lost, elevenlabs())
    with pytest.raises(MaviServerError):
        stt(hook).execute(run.context("stt"))
    note = run.stores[("stt", -1)].values[STATE_KEY]["unknown_outcome"]
    assert note["error"] == "MaviServerError"
    assert "may have been billed although its answer was lost" in capsys.readouterr().out
    stt(hook).execute(run.context("stt"))
    assert "ended with its outcome unknown and may have been billed; asking again" in capsys.readouterr().out
    assert len(hook.calls) == 2


def test_an_error_with_a_known_outcome_notes_nothing(run: Any) -> None:
    hook = PaidHook(MaviServerError("HTTP 500", status=500))
    with pytest.raises(MaviServerError):
        stt(hook).execute(run.context("stt"))
    assert run.stores[("stt", -1)].values == {}


def test_an_answer_for_another_request_is_not_used(run: Any) -> None:
    hook = PaidHook(elevenlabs(), elevenlabs())
    stt(hook, asset_id="re_1").execute(run.context("stt"))
    stt(hook, asset_id="re_2").execute(run.context("stt"))
    assert [params["asset_id"] for _, params in hook.calls] == ["re_1", "re_2"]


def test_an_answer_over_the_store_limit_is_not_kept(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("AIRFLOW__STATE_STORE__MAX_VALUE_STORAGE_BYTES", "800")
    op = MaviEmbedVideoOperator(task_id="emb", asset_id="re_1", output_path=str(tmp_path / "v.npy"))
    vector = {"embedding": [0.015625] * 100}  # 100 x 10 bytes of JSON: the answer is over 800 bytes
    op.hook = PaidHook(parse_video_embedding(vector))  # type: ignore[assignment]
    result = op.execute(run.context("emb"))
    kept = run.stores[("emb", -1)].values[STATE_KEY]
    assert "answer" not in kept  # the vectors were too big; the small result alone fits
    assert kept["result"] == result
    assert "is over the task state store's limit ([state_store] max_value_storage_bytes = 800)" in (
        capsys.readouterr().out
    )


def test_a_store_that_fails_never_fails_the_paid_task(run: Any, capsys: pytest.CaptureFixture[str]) -> None:
    context = run.context("stt")

    class Broken:
        def get(self, key: str, default: Any = None) -> Any:
            return None

        def set(self, key: str, value: Any, *, retention: Any = None) -> None:
            raise RuntimeError("execution API unavailable")

    context["task_state_store"] = Broken()
    result = stt(PaidHook(elevenlabs())).execute(context)
    assert result["text"].startswith("Hello")
    assert "Could not keep the Mavi answer in the task state store" in capsys.readouterr().out


def test_memory_without_a_store(run: Any) -> None:
    op = stt(PaidHook())
    memory = AnswerMemory(run.context("stt", state_store=False), op, "f" * 64)
    assert not memory.available
    assert memory.recall() == {}
    assert memory.keep_answer({"text": "x"}) is False


def test_a_kept_value_that_is_not_ours_is_ignored(run: Any) -> None:
    context = run.context("stt")
    context["task_state_store"].set(STATE_KEY, "garbage")
    memory = AnswerMemory(context, stt(PaidHook()), "f" * 64)
    assert memory.recall() == {}
    assert json.loads(json.dumps(context["task_state_store"].get(STATE_KEY))) == "garbage"


def test_the_registered_module_exports_the_sync_operators() -> None:
    import importlib

    from airflow_provider_mavi.get_provider_info import get_provider_info
    from airflow_provider_mavi.operators.sync import MaviSyncOperator

    (entry,) = get_provider_info()["operators"]
    (module,) = (importlib.import_module(name) for name in entry["python-modules"])
    templated = {
        "MaviSpeechToTextOperator": {"asset_id", "url", "source_url", "provider", "options", "output_path"},
        "MaviVideoChatOperator": {
            "model",
            "video",
            "prompt",
            "messages",
            "mime_type",
            "options",
            "output_path",
        },
        "MaviEmbedVideoOperator": {"asset_id", "model", "output_path"},
        "MaviEmbedTextOperator": {"texts", "model", "dimensionality", "output_path"},
    }
    for name, fields in templated.items():
        cls = getattr(module, name)
        assert name in module.__all__
        assert issubclass(cls, MaviSyncOperator)
        assert fields | {"mavi_conn_id"} <= set(cls.template_fields), name


def test_the_retry_settings_reach_the_hook() -> None:
    op = MaviSpeechToTextOperator(task_id="stt", asset_id="re_1", mavi_retry_attempts=1, mavi_retry_delay=0.5)
    assert op.mavi_retry_policy.max_attempts == 1
    assert op.hook.retry_policy is op.mavi_retry_policy
