"""Scene detection, split and edit operators without a server: requests over HTTP to the paid Mavi of
conftest.py, callbacks from mavi-api.md's documented examples, the in-memory bridge."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from airflow_provider_mavi.compat import TaskDeferred
from airflow_provider_mavi.exceptions import MaviCallbackError, MaviOperatorError
from airflow_provider_mavi.operators.mavi import (
    MaviDetectScenesOperator,
    MaviEditVideoOperator,
    MaviSplitVideoOperator,
)

from .. import mavi_examples as ex


def deferred(op: Any, context: dict[str, Any]) -> TaskDeferred:
    with pytest.raises(TaskDeferred) as caught:
        op.execute(context)
    return caught.value


def finish(op: Any, run: Any, task_id: str, payload: dict[str, Any]) -> Any:
    job_id = deferred(op, run.context(task_id)).trigger.job_id
    body = {**copy.deepcopy(payload), "task_id": job_id}
    return op.execute_complete(
        run.context(task_id), {"status": "success", "job_id": job_id, "payload": body}, job_id=job_id
    )


# ------------------------------------------------------------------------------------------ scenes


def test_scenes_in_frames_without_an_fps(wire: Any, paid_mavi: Any, run: Any) -> None:
    result = finish(
        wire(MaviDetectScenesOperator(task_id="cuts", asset_id="re_1")), run, "cuts", ex.SCENES_CALLBACK
    )
    assert paid_mavi.sent[0][1:] == ("/video/clip", {"asset_id": "re_1"})
    assert result["scenes"] == [
        {"start_frame": 0, "end_frame": 143, "start_seconds": None, "end_seconds": None},
        {"start_frame": 144, "end_frame": 401, "start_seconds": None, "end_seconds": None},
    ]
    assert (result["fps"], result["exec_time_seconds"], result["cost_usd"]) == (None, 3.2, None)
    assert "not documented, mavi-api.md §12.5" in result["cost_note"]


@pytest.mark.parametrize("fps", [24, "24", {"fps": 24.0, "duration_seconds": 16.75}])
def test_scenes_in_seconds_with_a_given_fps(wire: Any, run: Any, fps: Any) -> None:
    op = wire(MaviDetectScenesOperator(task_id="cuts", asset_id="re_1", fps=fps))
    result = finish(op, run, "cuts", ex.SCENES_CALLBACK)
    assert result["fps"] == 24.0
    assert [(s["start_seconds"], s["end_seconds"]) for s in result["scenes"]] == [(0.0, 6.0), (6.0, 402 / 24)]


@pytest.mark.parametrize("bad", [0, -24, "fast", True, {"fps": 0}])
def test_a_bad_fps_is_refused_before_paying(wire: Any, paid_mavi: Any, run: Any, bad: Any) -> None:
    with pytest.raises(MaviOperatorError, match="fps must be"):
        wire(MaviDetectScenesOperator(task_id="cuts", asset_id="re_1", fps=bad)).execute(run.context("cuts"))
    assert paid_mavi.sent == []


def test_scenes_whose_end_precedes_their_start_are_refused(wire: Any, run: Any) -> None:
    payload = copy.deepcopy(ex.SCENES_CALLBACK)
    payload["data"]["data"]["data"][1] = {"start": 144, "end": 100}
    with pytest.raises(MaviCallbackError, match=r"data\.data\.data\[1\]\.end"):
        finish(wire(MaviDetectScenesOperator(task_id="cuts", asset_id="re_1")), run, "cuts", payload)


# ------------------------------------------------------------------------------------------ split


def split_callback(*indexes: int) -> dict[str, Any]:
    payload = copy.deepcopy(ex.SPLIT_CALLBACK)
    record = payload["data"]["splits"][0]
    payload["data"]["splits"] = [
        {
            **record,
            "asset_id": f"re_66073641038614937{i}",
            "original_filename": f"segment_video_660736410386149376_{i}",
        }
        for i in indexes
    ]
    return payload


def test_split_returns_the_segment_ids_in_order_and_pushes_the_result(
    wire: Any, paid_mavi: Any, run: Any
) -> None:
    op = wire(MaviSplitVideoOperator(task_id="split", asset_id="re_1", segment_seconds="30"))
    returned = finish(op, run, "split", split_callback(2, 0, 1))
    assert paid_mavi.sent[0][1:] == ("/video/split", {"asset_id": "re_1", "segment_seconds": 30})
    assert returned == ["re_660736410386149370", "re_660736410386149371", "re_660736410386149372"]
    full = run.xcom("split", "split")
    assert full["asset_ids"] == returned
    assert [s["original_filename"][-1] for s in full["segments"]] == ["0", "1", "2"]
    assert full["segments"][0]["file_size"] == 10485760
    assert full["job_id"] == run.xcom("split", "job_id")
    assert full["cost_usd"] is None


def test_split_without_segment_seconds_sends_only_the_asset(wire: Any, paid_mavi: Any, run: Any) -> None:
    for value in (None, "", "None"):
        deferred(
            wire(
                MaviSplitVideoOperator(
                    task_id=f"s{len(paid_mavi.sent)}", asset_id="re_1", segment_seconds=value
                )
            ),
            run.context(f"s{len(paid_mavi.sent)}"),
        )
    assert paid_mavi.bodies("/video/split") == [{"asset_id": "re_1"}] * 3


@pytest.mark.parametrize("bad", [0, "2.5", 1.5, "two", True, -3])
def test_a_bad_segment_length_is_refused_before_paying(wire: Any, paid_mavi: Any, run: Any, bad: Any) -> None:
    with pytest.raises(MaviOperatorError, match="segment_seconds must be"):
        wire(MaviSplitVideoOperator(task_id="split", asset_id="re_1", segment_seconds=bad)).execute(
            run.context("split")
        )
    assert paid_mavi.sent == []


def test_a_split_with_no_segment_fails_clearly(wire: Any, run: Any) -> None:
    with pytest.raises(MaviCallbackError, match=r"data\.splits"):
        finish(wire(MaviSplitVideoOperator(task_id="split", asset_id="re_1")), run, "split", split_callback())


def test_a_retry_with_another_segment_length_pays_for_a_new_split(
    wire: Any, paid_mavi: Any, run: Any
) -> None:
    a = deferred(
        wire(MaviSplitVideoOperator(task_id="s", asset_id="re_1", segment_seconds=10)), run.context("s")
    )
    b = deferred(
        wire(MaviSplitVideoOperator(task_id="s", asset_id="re_1", segment_seconds="10")), run.context("s")
    )
    c = deferred(
        wire(MaviSplitVideoOperator(task_id="s", asset_id="re_1", segment_seconds=20)), run.context("s")
    )
    assert a.trigger.job_id == b.trigger.job_id != c.trigger.job_id
    assert len(paid_mavi.job_ids) == 2


# ------------------------------------------------------------------------------------------ edit


def test_edit_sends_every_input_and_returns_the_new_asset(
    wire: Any, paid_mavi: Any, run: Any, fake_bridge: Any
) -> None:
    op = wire(
        MaviEditVideoOperator(
            task_id="edit", asset_ids=("re_1", "re_2"), orientation="portrait", user_prompt="Keep the goals."
        )
    )
    result = finish(op, run, "edit", ex.EDIT_CALLBACK)
    assert paid_mavi.sent[0][1:] == (
        "/video/edit",
        {"asset_ids": ["re_1", "re_2"], "orientation": "portrait", "user_prompt": "Keep the goals."},
    )
    assert result["asset_id"] == "re_660736410386149378" == run.xcom("edit", "asset_id")
    assert result["asset"]["original_filename"] == "final_video"
    assert result["asset"]["file_size"] == 52428800
    assert result["cost_usd"] is None
    job = next(iter(fake_bridge.jobs.values()))
    assert job["asset_id"] == "re_1"
    assert job["key"].startswith("mavi_unit/manual__unit/edit/-1|edit_video:re_1:")


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"asset_ids": "re_1"}, "asset_ids must be a list of asset ids"),
        ({"asset_ids": []}, "asset_ids must hold at least one asset id"),
        ({"asset_ids": ["re_1", "a/b"]}, r"Not a Mavi asset id: 'a/b'"),
        ({"orientation": "square"}, "orientation must be one of 'landscape', 'portrait'"),
        ({"user_prompt": "x" * 501}, "user_prompt"),
        ({"user_prompt": ""}, "user_prompt"),
    ],
)
def test_a_bad_edit_is_refused_before_paying(
    wire: Any, paid_mavi: Any, run: Any, kwargs: Any, match: str
) -> None:
    args = {
        "asset_ids": ["re_1", "re_2"],
        "orientation": "landscape",
        "user_prompt": "Cut the pauses.",
    } | kwargs
    with pytest.raises(MaviOperatorError, match=match) as caught:
        wire(MaviEditVideoOperator(task_id="edit", **args)).execute(run.context("edit"))
    assert "nothing was submitted" in str(caught.value)
    assert paid_mavi.sent == []


def test_edit_reads_a_mapped_tasks_lazy_output_as_a_list(wire: Any, paid_mavi: Any, run: Any) -> None:
    lazy = (
        asset for asset in ("re_1", "re_2", "re_3")
    )  # what a mapped upstream's output resolves to: iterable
    deferred(
        wire(
            MaviEditVideoOperator(task_id="e", asset_ids=lazy, orientation="landscape", user_prompt="Join.")
        ),
        run.context("e"),
    )
    assert paid_mavi.bodies("/video/edit")[0]["asset_ids"] == ["re_1", "re_2", "re_3"]


def test_another_order_or_prompt_is_another_edit(wire: Any, paid_mavi: Any, run: Any) -> None:
    def edit(ids: list[str], prompt: str) -> str:
        op = MaviEditVideoOperator(task_id="e", asset_ids=ids, orientation="landscape", user_prompt=prompt)
        return deferred(wire(op), run.context("e")).trigger.job_id

    first = edit(["re_1", "re_2"], "Join.")
    assert edit(["re_1", "re_2"], "Join.") == first
    assert edit(["re_2", "re_1"], "Join.") != first
    assert edit(["re_1", "re_2"], "Join them.") != first
    assert len(paid_mavi.job_ids) == 3


# -------------------------------------------------------------------------------------- every new operator

NEW_OPERATORS = [
    ("MaviTranscribeAudioOperator", {"asset_id", "output_path", "media_duration_seconds"}),
    ("MaviSpeakerDiarizationOperator", {"asset_id", "media_duration_seconds"}),
    ("MaviRecognizeSpeakersOperator", {"asset_id", "media_duration_seconds"}),
    ("MaviSummarizeVideoOperator", {"asset_id"}),
    ("MaviDetectScenesOperator", {"asset_id", "fps"}),
    ("MaviSplitVideoOperator", {"asset_id", "segment_seconds"}),
    ("MaviEditVideoOperator", {"asset_ids", "orientation", "user_prompt"}),
]


@pytest.mark.parametrize(("name", "fields"), NEW_OPERATORS)
def test_every_value_field_is_templated_and_documented(name: str, fields: set[str]) -> None:
    from airflow_provider_mavi.operators import mavi

    cls = getattr(mavi, name)
    assert set(cls.template_fields) == fields | {"mavi_conn_id"}
    doc = cls.__doc__ or ""
    for field in cls.template_fields:
        line = doc[doc.index(f":param {field}:") :].split(":param")[1]
        assert "(templated)" in line, f"{name}.{field} is templated but its docstring does not say so"
    for param in ("callback_timeout", "deferrable", "mavi_conn_id"):
        assert f":param {param}:" in doc
