"""MaviJobSensor(kind=...): the callback of a job submitted elsewhere, parsed into its typed result."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest
from airflow.sdk.bases.sensor import PokeReturnValue

from airflow_provider_mavi.exceptions import MaviCallbackError, MaviOperatorError
from airflow_provider_mavi.sensors.mavi import JOB_KINDS, MaviJobSensor

from .. import mavi_examples as ex

EXAMPLES: dict[str, dict[str, Any]] = {
    "extract_frames": ex.FRAMES_CALLBACK,
    "transcribe_video": ex.VIDEO_DESCRIPTION_CALLBACK,
    "transcribe_audio": ex.AUDIO_CALLBACK,
    "diarize": ex.SPEAKER_CALLBACK,
    "recognize_speakers": ex.MULTI_SPEAKER_CALLBACK,
    "summarize": ex.SUMMARY_CALLBACK,
    "detect_scenes": ex.SCENES_CALLBACK,
    "split_video": ex.SPLIT_CALLBACK,
    "edit_video": ex.EDIT_CALLBACK,
}


def complete(kind: str | None, payload: dict[str, Any], run: Any) -> Any:
    sensor = MaviJobSensor(task_id="sense", job_id="j1", kind=kind)
    event = {"status": "success", "job_id": "j1", "payload": {**copy.deepcopy(payload), "task_id": "j1"}}
    return sensor.execute_complete(run.context("sense"), event, job_id="j1")


def test_every_async_job_kind_is_known() -> None:
    assert set(JOB_KINDS) == set(EXAMPLES)


@pytest.mark.parametrize("kind", sorted(EXAMPLES))
def test_each_kind_parses_its_documented_callback_into_json(kind: str, run: Any) -> None:
    result = complete(kind, EXAMPLES[kind], run)
    assert result["job_id"] == "j1"
    assert json.loads(json.dumps(result)) == result  # plain JSON for XCom


def test_what_the_parsed_results_hold(run: Any) -> None:
    assert complete("transcribe_audio", ex.AUDIO_CALLBACK, run)["segments"] == [
        {"start": 0.0, "end": 2.98, "text": "Hello, how are you today?", "speaker": None}
    ]
    assert complete("transcribe_audio", ex.AUDIO_CALLBACK, run)["cost_usd"] == 0.0131
    assert complete("diarize", ex.SPEAKER_CALLBACK, run)["speakers"] == ["SPEAKER_01", "SPEAKER_00"]
    assert complete("summarize", ex.SUMMARY_CALLBACK, run)["summary"] == "<summary text>"
    scenes = complete("detect_scenes", ex.SCENES_CALLBACK, run)["scenes"]
    assert scenes[1] == {"start_frame": 144, "end_frame": 401, "start_seconds": None, "end_seconds": None}
    assert complete("split_video", ex.SPLIT_CALLBACK, run)["asset_ids"] == ["re_660736410386149377"]
    assert complete("edit_video", ex.EDIT_CALLBACK, run)["asset_id"] == "re_660736410386149378"
    assert complete("extract_frames", ex.FRAMES_CALLBACK, run)["frame_asset_ids"] == [
        "imc_666914042514116608_0",
        "imc_666914042514116608_1",
    ]
    video = complete("transcribe_video", ex.VIDEO_DESCRIPTION_CALLBACK, run)
    assert set(video["segments"][0]) == {"start_time", "end_time", "text", "speaker"}


def test_without_kind_the_raw_body_comes_back(run: Any) -> None:
    assert complete(None, ex.SCENES_CALLBACK, run) == {**ex.SCENES_CALLBACK, "task_id": "j1"}


def test_a_callback_that_does_not_match_its_kind_names_the_field(run: Any) -> None:
    with pytest.raises(MaviCallbackError, match=r"data\.splits"):
        complete("split_video", ex.SCENES_CALLBACK, run)


@pytest.mark.parametrize("bad", ["transcribe", "SPLIT_VIDEO", 3])
def test_an_unknown_kind_fails_when_the_dag_is_parsed(bad: Any) -> None:
    with pytest.raises(MaviOperatorError, match="kind must be one of detect_scenes, diarize, edit_video"):
        MaviJobSensor(task_id="s", job_id="j1", kind=bad)


def test_a_templated_kind_is_checked_once_rendered(run: Any) -> None:
    sensor = MaviJobSensor(task_id="s", job_id="j1", kind="{{ params.kind }}")
    sensor.kind = "nope"  # what rendering produced
    with pytest.raises(MaviOperatorError, match="kind must be one of"):
        sensor.execute(run.context("s"))


def test_a_poke_parses_too(run: Any, fake_bridge: Any) -> None:
    sensor = MaviJobSensor(task_id="s", job_id="j9", kind="diarize", deferrable=False)
    sensor.bridge_hook = fake_bridge.hook()
    fake_bridge.deliver("j9", {**copy.deepcopy(ex.SPEAKER_CALLBACK), "task_id": "j9"})
    done = sensor.poke(run.context("s"))
    assert isinstance(done, PokeReturnValue)
    assert done.xcom_value["segments"][1] == {"start": 0.13, "end": 13.40, "speaker": "SPEAKER_00"}
