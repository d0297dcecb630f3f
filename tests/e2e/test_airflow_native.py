"""OpenLineage and extra links of the example pipeline, with the real OpenLineage provider installed.

``mavi_video_pipeline`` runs with ``airflow dags test`` against the real emulator and bridge, with the
OpenLineage provider's ``file`` transport: every event its listener emits is appended to a file, and the
tests read the COMPLETE event of each Mavi task. The extra links are read back from the finished task
instances by the API server's own route function (``GET .../taskInstances/{task_id}/links``).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

MAVI_QPS = 5  # the pipeline's tasks overlap; lineage does not depend on the pace
NAMESPACE = "mavi-e2e"

_LINKS = """
import json, sys
from airflow.api_fastapi.core_api.routes.public.extra_links import get_extra_links
from airflow.models.dagbag import DBDagBag
from airflow.utils.session import create_session

dag_id, run_id, task_ids = sys.argv[1], sys.argv[2], sys.argv[3:]
with create_session() as session:
    bag = DBDagBag()
    links = {
        task_id: get_extra_links(
            dag_id=dag_id, dag_run_id=run_id, task_id=task_id, session=session, dag_bag=bag
        ).extra_links
        for task_id in task_ids
    }
print(json.dumps(links))
"""


def local(path: str) -> Path:
    return Path(path[len("file://") :] if path.startswith("file://") else path)


@pytest.fixture(scope="module")
def lineage_run(airflow_env: Any, services: Any, make_video: Any, tmp_path_factory: pytest.TempPathFactory):
    work = tmp_path_factory.mktemp("lineage")
    events_file = work / "openlineage.jsonl"
    airflow_env.env.update(
        {
            "AIRFLOW__OPENLINEAGE__TRANSPORT": json.dumps(
                {"type": "file", "log_file_path": str(events_file), "append": True}
            ),
            "AIRFLOW__OPENLINEAGE__NAMESPACE": NAMESPACE,
        }
    )
    video = make_video(work / "in" / "clip.mp4", seconds=3.0)
    output = work / "out"
    run = airflow_env.dags_test(
        "mavi_video_pipeline", {"video": str(video), "model": "gemini-2.5-flash", "output": output.as_uri()}
    )
    (work / "output.txt").write_text(run.output)
    assert run.succeeded, run.tail()
    events = [json.loads(line) for line in events_file.read_text().splitlines() if line.strip()]
    complete = {
        event["job"]["name"].split(".", 1)[1]: event
        for event in events
        if event["eventType"] == "COMPLETE" and event["job"]["name"].startswith("mavi_video_pipeline.")
    }
    return {"run": run, "video": video, "events": events, "complete": complete, "services": services}


def datasets(event: dict[str, Any], side: str) -> list[tuple[str, str]]:
    return [(d["namespace"], d["name"]) for d in event[side]]


def mavi_ns(services: Any) -> str:
    parts = urlsplit(services.emulator.base_url)
    return f"mavi://{parts.hostname}:{parts.port}"


def test_every_mavi_task_reported_its_lineage(lineage_run: dict) -> None:
    assert {"upload", "extract_frames", "transcribe_video", "download_frames"} <= set(lineage_run["complete"])
    for task in ("upload", "extract_frames", "transcribe_video", "download_frames"):
        event = lineage_run["complete"][task]
        assert event["job"]["namespace"] == NAMESPACE
        assert "mavi" in event["run"]["facets"], task


def test_the_upload_reads_the_video_file_and_makes_the_asset(lineage_run: dict) -> None:
    run, event = lineage_run["run"], lineage_run["complete"]["upload"]
    asset_id = run.xcom[("upload", -1)]
    assert datasets(event, "inputs") == [("file", str(lineage_run["video"]))]
    assert datasets(event, "outputs") == [(mavi_ns(lineage_run["services"]), asset_id)]
    facet = event["run"]["facets"]["mavi"]
    assert (facet["outputAssetIds"], facet["costUsd"]) == ([asset_id], 0.0)


def test_the_jobs_read_the_asset_and_name_their_job_and_price(lineage_run: dict) -> None:
    run, services = lineage_run["run"], lineage_run["services"]
    asset_id = run.xcom[("upload", -1)]
    frames = run.xcom[("extract_frames", -1)]
    event = lineage_run["complete"]["extract_frames"]
    assert datasets(event, "inputs") == [(mavi_ns(services), asset_id)]
    assert datasets(event, "outputs") == [(mavi_ns(services), frames["frames_asset_id"])]
    facet = event["run"]["facets"]["mavi"]
    assert facet["jobId"] == frames["job_id"]
    assert facet["jobKind"] == "extract_frames"
    assert facet["costUsd"] == frames["cost_usd"] == 0.03  # 3 s at $0.01
    assert (facet["inputAssetIds"], facet["outputAssetIds"]) == ([asset_id], [frames["frames_asset_id"]])

    transcript = run.xcom[("transcribe_video", -1)]
    event = lineage_run["complete"]["transcribe_video"]
    assert datasets(event, "inputs") == [(mavi_ns(services), asset_id)]
    assert datasets(event, "outputs") == [
        ("file", str(local(transcript["json_path"]))),
        ("file", str(local(transcript["vtt_path"]))),
    ]
    facet = event["run"]["facets"]["mavi"]
    assert (facet["jobId"], facet["jobKind"]) == (transcript["job_id"], "transcribe_video")
    assert facet["costUsd"] == pytest.approx(transcript["cost_usd"])


def test_the_download_writes_the_frames_directory(lineage_run: dict) -> None:
    run = lineage_run["run"]
    summary = run.xcom[("summary", -1)]
    frames = run.xcom[("extract_frames", -1)]
    event = lineage_run["complete"]["download_frames"]
    assert datasets(event, "inputs") == [(mavi_ns(lineage_run["services"]), frames["frames_asset_id"])]
    assert datasets(event, "outputs") == [("file", str(local(summary["frames_dir"])))]
    assert event["run"]["facets"]["mavi"]["costUsd"] == run.xcom[("download_frames", -1)]["cost_usd"]


def test_no_secret_is_in_any_event(lineage_run: dict, airflow_env: Any) -> None:
    text = json.dumps(lineage_run["events"])
    for secret in airflow_env.secrets:
        assert secret not in text


def test_the_links_of_the_finished_tasks(lineage_run: dict, airflow_env: Any, services: Any) -> None:
    run = lineage_run["run"]
    tasks = ["extract_frames", "transcribe_video", "download_frames", "upload"]
    done = subprocess.run(
        [sys.executable, "-c", _LINKS, "mavi_video_pipeline", run.run_id, *tasks],
        env=airflow_env.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, airflow_env.redact(done.stderr[-3000:])
    links = json.loads(done.stdout.strip().splitlines()[-1])
    for task in ("extract_frames", "transcribe_video"):
        job_id = run.xcom[(task, -1)]["job_id"]
        assert links[task] == {
            "Mavi job (bridge)": f"{services.bridge.url}/ui/jobs/{job_id}",
            "Mavi results": None,  # frames stay at Mavi; the transcript went to a local folder: no link
        }
    assert links["download_frames"] == {"Mavi results": None}  # a file:// destination has no link
    assert links["upload"] == {}
    assert services.bridge.token not in done.stdout


def test_the_bridge_links_open_for_the_token_holder_only(lineage_run: dict, services: Any) -> None:
    """The job link (the bridge's page of the job) answers the token holder and refuses anyone else."""
    import httpx

    for task, kind in (("extract_frames", "extract_frames"), ("transcribe_video", "transcribe_video")):
        job_id = lineage_run["run"].xcom[(task, -1)]["job_id"]
        url = f"{services.bridge.url}/ui/jobs/{job_id}"  # what the link gave (the test above)
        answer = httpx.get(url, headers=services.bridge.headers, timeout=10)
        assert answer.status_code == 200
        assert job_id in answer.text
        assert kind in answer.text
        assert "delivered" in answer.text
        refused = httpx.get(url, timeout=10)
        assert refused.status_code == 401
        assert kind not in refused.text, "an anonymous visitor must see no job data"
        wrong = {"Authorization": "Bearer " + "x" * len(services.bridge.token)}
        assert httpx.get(url, headers=wrong, timeout=10).status_code == 401
        assert services.bridge.token not in answer.text
