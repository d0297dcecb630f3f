"""The sync operators in a real `airflow dags test` run, with a `mavi` connection that has no bridge."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest
import webvtt

pytestmark = [pytest.mark.e2e, pytest.mark.slow]


def test_sync_operators_run_without_a_bridge_and_a_retry_pays_once(
    airflow: Any, sync_emulator: Any, sync_connection: str, sample_video: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    run = airflow.dags_test(
        "mavi_sync_no_bridge", {"video": str(sample_video), "out": str(out)}, sync_connection
    )
    assert run.state == "success", run.tail()
    assert {task: state for task, (state, _) in run.tasks.items()} == dict.fromkeys(
        ("upload", "speech", "chat", "embed_video", "embed_text"), "success"
    )
    # The speech task failed writing its output after Mavi answered; its retry used the answer Airflow's
    # task state store kept: one paid call.
    assert run.tasks["speech"][1] == 2
    jobs = sync_emulator.stats()["jobs"]
    assert [job["kind"] for job in jobs].count("speech_to_text") == 1
    assert "Re-using the Mavi answer an earlier try kept: nothing paid by this try" in run.output

    speech = run.xcoms[("speech", "return_value")]
    assert [c.voice for c in webvtt.read(speech["vtt_path"]).captions] == [
        "speaker_0",
        "speaker_1",
        "speaker_0",
    ]
    assert speech["cost_usd"] == pytest.approx(6.0 * 0.39 / 3600, rel=0.05)
    chat = run.xcoms[("chat", "return_value")]
    assert isinstance(chat["parsed"]["scene_count"], int)
    assert json.loads(Path(chat["json_path"]).read_text())["parsed"] == chat["parsed"]
    video = run.xcoms[("embed_video", "return_value")]
    assert list(np.load(video["path"]).shape) == video["shape"]
    texts = pq.read_table(run.xcoms[("embed_text", "return_value")]["path"])
    assert texts.num_rows == 2
    assert len(texts.column("embedding")[0]) == 32
    costs = {task: run.xcoms.get((task, "mavi_cost_usd")) for task in ("speech", "chat", "embed_text")}
    assert costs["speech"] == speech["cost_usd"]
    assert costs["chat"] == chat["cost_usd"] > 0
    assert "Mavi spend of this task" in run.output
