"""The insights report (pure): segments placed on the video's clock, costs, Markdown, refusals."""

from __future__ import annotations

import json
from typing import Any

import pytest

from airflow_provider_mavi.insights import build_report, clock, render_markdown, speech_for_sheet


def inputs(durations: list[float | None], fps: float | None = 10.0) -> dict[str, Any]:
    ids = [f"re_{i}" for i in range(len(durations))]
    return {
        "video": "file:///data/clip one.mp4",
        "media": {"asset_id": "re_src", "duration_seconds": 6.0},
        "split": {"job_id": "split-1", "asset_ids": ids, "cost_usd": None},
        "measured": [
            {
                "asset_id": a,
                "path": f"/out/{a}.mp4",
                "bytes": 100,
                "duration_seconds": d,
                "fps": fps,
                "download_cost_usd": 0.000001,
            }
            for a, d in zip(ids, durations, strict=True)
        ],
        "speech": [{"job_id": f"sp-{a}", "json_path": f"/out/{a}.json", "cost_usd": 0.004} for a in ids],
        "turns": [
            [{"start": 0.5, "end": 1.5, "text": "[speech 1.0 s]", "speaker": "SPEAKER_00"}] for _ in ids
        ],
        "scenes": [
            {
                "job_id": f"sc-{a}",
                "fps": fps,
                "cost_usd": None,
                "scenes": [
                    {
                        "start_frame": 0,
                        "end_frame": 19,
                        "start_seconds": 0.0 if fps else None,
                        "end_seconds": 2.0 if fps else None,
                    }
                ],
            }
            for a in ids
        ],
        "answers": [
            {
                "model": "nova:us.amazon.nova-lite-v1:0",
                "parsed": {"summary": f"part {a}", "colours": ["red"]},
                "cost_usd": 0.0001,
            }
            for a in ids
        ],
        "summary": {"job_id": "sum-1", "summary": "A 6 s video.", "usage": {}, "cost_usd": None},
        "frames": {"job_id": "fr-1", "frame_count": 6, "cost_usd": 0.06},
        "frames_download": {"paths": ["/out/frames/0.jpg"], "cost_usd": 0.000002},
        "vlm_model": "nova:us.amazon.nova-lite-v1:0",
    }


def test_segments_are_placed_by_the_measured_durations_before_them() -> None:
    report = build_report(**inputs([2.4, 2.4, 1.2]))
    assert [(s["start_seconds"], s["end_seconds"]) for s in report["segments"]] == [
        (0.0, 2.4),
        (2.4, 4.8),
        (4.8, 6.0),
    ]
    turn = report["segments"][1]["speech"]["turns"][0]
    assert (turn["start"], turn["video_start"], turn["video_end"]) == (0.5, 2.9, 3.9)
    scene = report["segments"][2]["scenes"]["scenes"][0]
    assert (scene["start_frame"], scene["video_start"], scene["video_end"]) == (0, 4.8, 6.8)
    assert report["segments"][0]["answer"] == {"summary": "part re_0", "colours": ["red"]}
    assert json.loads(json.dumps(report)) == report


def test_an_unknown_duration_leaves_later_segments_on_their_own_clock() -> None:
    report = build_report(**inputs([2.0, None, 2.0]))
    assert [s["start_seconds"] for s in report["segments"]] == [0.0, 2.0, None]
    assert report["segments"][1]["end_seconds"] is None
    assert report["segments"][2]["speech"]["turns"][0]["video_start"] is None
    assert [t["start"] for t in speech_for_sheet(report)] == [0.5, 2.5]  # the third has no place on the sheet


def test_without_an_fps_scenes_stay_in_frames() -> None:
    report = build_report(**inputs([3.0, 3.0], fps=None))
    scene = report["segments"][1]["scenes"]["scenes"][0]
    assert (scene["start_frame"], scene["video_start"]) == (0, None)
    assert "frames 0-19\n" in render_markdown(report) + "\n"


def test_costs_add_the_known_and_name_the_unknown() -> None:
    costs = build_report(**inputs([3.0, 3.0]))["cost_usd"]
    assert costs["parts"]["transcribe_audio"] == 0.008
    assert costs["parts"]["vlm_chat"] == 0.0002
    assert costs["parts"]["download_segments"] == 0.000002
    assert costs["unknown"] == ["detect_scenes", "split_video", "summarize"]
    assert costs["total_usd"] is None
    assert costs["known_usd"] == round(0.008 + 0.0002 + 0.000002 + 0.06 + 0.000002, 6)


def test_speakers_are_named_per_segment_on_the_sheet() -> None:
    speech = speech_for_sheet(build_report(**inputs([2.0, 2.0])))
    assert [(s["start"], s["speaker"]) for s in speech] == [(0.5, "#1 SPEAKER_00"), (2.5, "#2 SPEAKER_00")]


@pytest.mark.parametrize("drop", ["measured", "speech", "turns", "scenes", "answers"])
def test_lists_that_do_not_line_up_are_refused(drop: str) -> None:
    args = inputs([2.0, 2.0])
    args[drop] = args[drop][:1]
    with pytest.raises(ValueError, match=f"1 {drop} results for 2 segments"):
        build_report(**args)


def test_segments_out_of_the_splits_order_are_refused() -> None:
    args = inputs([2.0, 2.0])
    args["measured"].reverse()
    with pytest.raises(ValueError, match="not the split's"):
        build_report(**args)


def test_markdown_holds_every_part_and_escapes_what_mavi_wrote() -> None:
    args = inputs([2.0, 2.0])
    args["answers"][0]["parsed"]["summary"] = "a | b <script>\nnext"
    report = {**build_report(**args), "contact_sheet": "file:///out/run/contact_sheet.jpg"}
    text = render_markdown(report)
    assert text.startswith(
        "# Video insights: clip one.mp4\n\nA 6 s video.\n\n![Contact sheet](contact_sheet.jpg)"
    )
    assert "| 1 | 0:00.0-0:02.0 | SPEAKER_00 | 1 | a \\| b &lt;script&gt; next |" in text
    assert "## Segment 2: 0:02.0-0:04.0" in text
    assert "- 0:02.5-0:03.5 SPEAKER_00: [speech 1.0 s]" in text
    assert "| **total** | unknown (known: $0.0682) |" in text
    assert "Speaker labels are per segment" in text


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "?"), (0, "0:00.0"), (2.449, "0:02.4"), (65.25, "1:05.2"), (3725.0, "1:02:05.0")],
)
def test_clock(seconds: float | None, text: str) -> None:
    assert clock(seconds) == text
