"""mavi_backfill_historical over 3 days x 3 videos, then a re-run of one day that must submit nothing new."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

import pytest
import webvtt
from PIL import Image

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(1800)]  # 3 DAG runs in one fixture

MAVI_QPS = 4  # a faster account than the default 1, to keep 9 videos within a few minutes on 2 cores


def folder(stem: str) -> str:
    """The result folder the DAG documents: the stem, or the cleaned stem and a hash if it needed cleaning."""
    if stem.replace(" ", "_") == stem:
        return stem
    return f"{stem.replace(' ', '_')}-{hashlib.sha256(stem.encode()).hexdigest()[:8]}"


def local(path: str) -> Path:
    return Path(path[len("file://") :] if path.startswith("file://") else path)


DAYS = ["2026-03-01", "2026-03-02", "2026-03-03"]
VIDEOS = [("alpha", 2.0, 160, 120), ("beta", 3.0, 192, 144), ("gamma clip", 2.0, 128, 96)]


@pytest.fixture(scope="module")
def archive(tmp_path_factory: pytest.TempPathFactory, make_video: Any) -> dict[str, Path]:
    work = tmp_path_factory.mktemp("archive")
    root, output = work / "incoming", work / "results"
    for day in DAYS:
        for name, seconds, width, height in VIDEOS:
            make_video(root / day / f"{name}.mp4", seconds=seconds, width=width, height=height)
        (root / day / "notes.txt").write_text("not a video: ignored")
    return {"root": root, "output": output}


@pytest.fixture(scope="module")
def backfill(airflow_env: Any, services: Any, archive: dict[str, Path]) -> dict[str, Any]:
    conf = {"root": str(archive["root"]), "output": str(archive["output"])}
    runs = {}
    for day in DAYS:
        run = airflow_env.dags_test("mavi_backfill_historical", conf, logical_date=day)
        assert run.succeeded, run.tail()
        runs[day] = run
    return {"runs": runs, "conf": conf, "stats": services.stats()}


def test_every_video_of_every_day_has_results(backfill: dict[str, Any], archive: dict[str, Path]) -> None:
    for day in DAYS:
        for name, seconds, width, height in VIDEOS:
            out = archive["output"] / day / folder(name)
            result = json.loads((out / "result.json").read_text())
            assert result["video"].endswith(f"{day}/{name}.mp4")
            jpegs = sorted((out / "frames").glob("*.jp*g"))
            assert len(jpegs) == result["frame_count"] >= int(seconds) - 1
            with Image.open(jpegs[0]) as image:
                assert image.format == "JPEG"
                assert image.size == (width, height)
            document = json.loads(local(result["transcript_json"]).read_text())
            assert local(result["transcript_json"]).parent == out / "transcript"
            assert len(document["segments"]) == result["segment_count"] >= 1
            assert len(webvtt.read(str(local(result["transcript_vtt"])))) == result["segment_count"]
            cost = result["cost_usd"]
            assert cost["extract_frames"] == pytest.approx(0.01 * seconds, abs=0.011)
            parts = cost["extract_frames"] + cost["transcribe_video"] + cost["download_frames"]
            assert cost["total"] == pytest.approx(parts, abs=1e-6)


def test_one_mapped_group_per_video(backfill: dict[str, Any]) -> None:
    for day, run in backfill["runs"].items():
        found = run.xcom[("find_videos", -1)]
        assert [Path(v["video"]).name for v in found] == sorted(f"{n}.mp4" for n, *_ in VIDEOS), day
        recorded = sorted(k[1] for k in run.xcom if k[0] == "process_video.record")
        assert recorded == [0, 1, 2], day
        uploads = {run.xcom[("process_video.upload", i)] for i in range(3)}
        assert len(uploads) == 3
        assert all(a.startswith("re_") for a in uploads)


def test_each_video_was_submitted_exactly_once(backfill: dict[str, Any]) -> None:
    stats = backfill["stats"]
    kinds = [j["kind"] for j in stats["jobs"]]
    assert kinds.count("extract_frames") == len(DAYS) * len(VIDEOS)
    assert kinds.count("transcribe_video") == len(DAYS) * len(VIDEOS)
    assert all(
        counts == {"extract_frames": 1, "transcribe_video": 1}
        for counts in stats["jobs_by_asset"].values()
        if set(counts) <= {"extract_frames", "transcribe_video"}
    )


def test_rerunning_a_day_submits_no_new_job(
    backfill: dict[str, Any], airflow_env: Any, services: Any, archive: dict[str, Path]
) -> None:
    before = services.stats()
    run = airflow_env.dags_test("mavi_backfill_historical", backfill["conf"], logical_date=DAYS[1])
    assert run.succeeded, run.tail()
    after = services.stats()
    assert after["jobs"] == before["jobs"], "a re-run submitted a paid job again"
    assert after["requests"].get("POST /upload", 0) == before["requests"].get("POST /upload", 0)
    assert after["spend_usd"] == before["spend_usd"]
    assert run.xcom[("find_videos", -1)] == []
    for name, *_ in VIDEOS:
        assert f"skip {name}.mp4: results already in" in run.output


def test_new_videos_in_a_done_day_are_the_only_ones_submitted(
    backfill: dict[str, Any], airflow_env: Any, services: Any, archive: dict[str, Path], make_video: Any
) -> None:
    # "gamma_clip" cleans to the same text as the done "gamma clip": it gets its own folder, is not skipped
    for name in ("delta", "gamma_clip"):
        make_video(archive["root"] / DAYS[2] / f"{name}.mp4", seconds=2.0)
    before = services.stats()
    run = airflow_env.dags_test("mavi_backfill_historical", backfill["conf"], logical_date=DAYS[2])
    assert run.succeeded, run.tail()
    new_jobs = [j for j in services.stats()["jobs"] if j not in before["jobs"]]
    assert sorted(j["kind"] for j in new_jobs) == ["extract_frames"] * 2 + ["transcribe_video"] * 2
    found = [Path(v["video"]).name for v in run.xcom[("find_videos", -1)]]
    assert found == ["delta.mp4", "gamma_clip.mp4"]
    for name in ("delta", "gamma_clip", "gamma clip"):
        result = json.loads((archive["output"] / DAYS[2] / folder(name) / "result.json").read_text())
        assert result["video"].endswith(f"/{name}.mp4")


def test_the_day_param_picks_a_day_without_a_folder_and_nothing_is_done(
    backfill: dict[str, Any], airflow_env: Any, services: Any, archive: dict[str, Path]
) -> None:
    before = services.stats()
    conf = {**backfill["conf"], "day": "2026-02-27"}
    run = airflow_env.dags_test("mavi_backfill_historical", conf, logical_date=DAYS[0])
    assert run.succeeded, run.tail()
    assert run.xcom[("find_videos", -1)] == []
    assert f"no folder {archive['root'].as_uri()}/2026-02-27: nothing to do for 2026-02-27" in run.output
    assert services.stats()["jobs"] == before["jobs"]


def test_a_malformed_day_is_rejected_before_any_task(
    backfill: dict[str, Any], airflow_env: Any, services: Any, archive: dict[str, Path]
) -> None:
    before = services.stats()
    results = sorted(p.relative_to(archive["output"]) for p in archive["output"].rglob("*"))
    run = airflow_env.dags_test("mavi_backfill_historical", {**backfill["conf"], "day": "03/01/2026"})
    assert run.returncode != 0
    assert "03/01/2026" in run.output
    assert services.stats()["requests"] == before["requests"]
    assert sorted(p.relative_to(archive["output"]) for p in archive["output"].rglob("*")) == results


def test_backfill_create_plans_one_run_per_day(airflow_env: Any, backfill: dict[str, Any]) -> None:
    """`airflow backfill create` (dry run: no scheduler here) plans exactly the requested days."""
    done = airflow_env.airflow(
        "backfill",
        "create",
        "--dag-id",
        "mavi_backfill_historical",
        "--from-date",
        DAYS[0],
        "--to-date",
        DAYS[-1],
        "--dag-run-conf",
        json.dumps(backfill["conf"]),
        "--reprocess-behavior",
        "completed",
        "--dry-run",
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    for day in DAYS:
        assert day in done.stdout
    assert "2026-03-04" not in done.stdout


def test_a_video_mavi_cannot_decode_fails_clearly_and_pays_nothing(
    backfill: dict[str, Any], airflow_env: Any, services: Any, archive: dict[str, Path]
) -> None:
    day = "2026-03-05"
    (archive["root"] / day).mkdir(parents=True)
    (archive["root"] / day / "broken.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42 this is not a video")
    done_before = sorted(archive["output"].rglob("result.json"))
    before = services.stats()
    run = airflow_env.dags_test("mavi_backfill_historical", backfill["conf"], logical_date=day)
    assert run.returncode != 0
    assert run.state == "failed"
    # the upload task (media_type="video") proves it is not a video before sending it: no upload at all
    assert "it is not decodable media (FFmpeg: Invalid data found when processing input)" in run.output
    assert "nothing was uploaded, nothing paid" in run.output
    assert not (archive["output"] / day / "broken" / "result.json").exists()
    after = services.stats()
    assert after["requests"].get("POST /upload", 0) == before["requests"].get("POST /upload", 0)
    assert after["jobs"] == before["jobs"], "no paid job for a video Mavi could not read"
    assert after["spend_usd"] == before["spend_usd"]
    assert sorted(archive["output"].rglob("result.json")) == done_before, "earlier results are untouched"
