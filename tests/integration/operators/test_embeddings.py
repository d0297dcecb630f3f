"""MaviEmbedVideoOperator and MaviEmbedTextOperator against the emulator, no bridge: files that reload."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from airflow_provider_mavi.exceptions import MaviRateLimitError, MaviServerError
from airflow_provider_mavi.operators.mavi import MaviEmbedTextOperator, MaviEmbedVideoOperator

VIDEO = "POST /embeddings/video"
TEXT = "POST /embeddings/text"


def paid(server: Any, kind: str) -> list[dict[str, Any]]:
    """The paid embedding calls of one kind the emulator recorded."""
    return [job for job in server.stats()["jobs"] if job["kind"] == kind]


def test_video_embedding_to_npy(sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any) -> None:
    target = tmp_path / "vectors" / "video.npy"
    result = MaviEmbedVideoOperator(task_id="embed", asset_id=ready_video, output_path=str(target)).execute(
        run.context("embed")
    )
    matrix = np.load(target)
    assert matrix.dtype == np.float32
    assert list(matrix.shape) == result["shape"] == [1, result["dimensions"]]
    assert result == {
        "asset_id": ready_video,
        "model": "multimodalembedding@001",
        "count": 1,
        "dimensions": matrix.shape[1],
        "shape": [1, matrix.shape[1]],
        "path": str(target),
        "format": "npy",
        "cost_usd": None,
        "cost_note": result["cost_note"],
    }
    assert "no price" in result["cost_note"]
    assert np.isfinite(matrix).all()
    assert np.abs(matrix).sum() > 0
    assert len(json.dumps(result)) < 1000  # never the vectors in XCom


def test_video_embedding_to_parquet(sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any) -> None:
    target = tmp_path / "video.parquet"
    result = MaviEmbedVideoOperator(task_id="embed", asset_id=ready_video, output_path=str(target)).execute(
        run.context("embed")
    )
    table = pq.read_table(target)
    assert table.column_names == ["asset_id", "embedding"]
    assert table.column("asset_id").to_pylist() == [ready_video]
    assert np.array(table.column("embedding").to_pylist()).shape == (1, result["dimensions"])
    assert json.loads(table.schema.metadata[b"mavi"])["model"] == "multimodalembedding@001"


def test_text_embeddings_in_input_order(sync_emulator: Any, tmp_path: Path, run: Any) -> None:
    texts = ["a red square", "a blue circle", "a red square"]
    npy = MaviEmbedTextOperator(
        task_id="embed", texts=texts, dimensionality=16, output_path=str(tmp_path / "t.npy")
    ).execute(run.context("embed"))
    parquet = MaviEmbedTextOperator(
        task_id="embed2", texts=texts, dimensionality="16", output_path=str(tmp_path / "t.parquet")
    ).execute(run.context("embed2"))
    matrix = np.load(tmp_path / "t.npy")
    assert matrix.shape == (3, 16)
    assert npy["shape"] == parquet["shape"] == [3, 16]
    assert np.array_equal(matrix[0], matrix[2])
    assert not np.array_equal(matrix[0], matrix[1])
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.column("text").to_pylist() == texts
    assert np.array_equal(np.array(table.column("embedding").to_pylist(), dtype=np.float32), matrix)
    assert npy["cost_usd"] is None
    assert "no token count" in npy["cost_note"]
    assert [job["dimensionality"] for job in paid(sync_emulator, "embed_text")] == [16, 16]


def test_the_ambiguous_400_of_an_unknown_asset(sync_emulator: Any, tmp_path: Path, run: Any) -> None:
    op = MaviEmbedVideoOperator(task_id="embed", asset_id="re_0000", output_path=str(tmp_path / "v.npy"))
    with pytest.raises(MaviRateLimitError) as caught:
        op.execute(run.context("embed"))
    assert caught.value.ambiguous
    assert sync_emulator.stats()["requests"][VIDEO] == 3
    assert paid(sync_emulator, "embed_video") == []
    assert not (tmp_path / "v.npy").exists()


def test_a_5xx_after_the_request_is_not_repeated(
    sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any
) -> None:
    sync_emulator.set_faults({"server_error": {"next": 1, "after": True, "endpoints": [VIDEO]}})
    op = MaviEmbedVideoOperator(task_id="embed", asset_id=ready_video, output_path=str(tmp_path / "v.npy"))
    with pytest.raises(MaviServerError, match="NOT resubmitted") as caught:
        op.execute(run.context("embed"))
    assert caught.value.outcome_unknown
    assert caught.value.status == 500
    assert sync_emulator.stats()["requests"][VIDEO] == 1
    assert len(paid(sync_emulator, "embed_video")) == 1
    assert not (tmp_path / "v.npy").exists()


def test_a_retry_after_the_output_failed_pays_nothing(
    sync_emulator: Any, ready_video: str, tmp_path: Path, run: Any
) -> None:
    target = tmp_path / "v.npy"
    target.mkdir()  # the write fails after the answer

    def op() -> MaviEmbedVideoOperator:
        return MaviEmbedVideoOperator(task_id="embed", asset_id=ready_video, output_path=str(target))

    with pytest.raises(IsADirectoryError):
        op().execute(run.context("embed"))
    target.rmdir()
    result = op().execute(run.context("embed"))
    assert len(paid(sync_emulator, "embed_video")) == 1
    assert list(np.load(target).shape) == result["shape"]


def test_an_answer_over_the_store_limit_is_kept_once_written(
    sync_emulator: Any, tmp_path: Path, run: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AIRFLOW__STATE_STORE__MAX_VALUE_STORAGE_BYTES", "2000")
    texts = [f"text number {i}" for i in range(20)]  # 20 x 64 floats: over 2,000 bytes of JSON
    target = tmp_path / "t.npy"
    target.mkdir()

    def op() -> MaviEmbedTextOperator:
        return MaviEmbedTextOperator(task_id="embed", texts=texts, dimensionality=64, output_path=str(target))

    with pytest.raises(IsADirectoryError):
        op().execute(run.context("embed"))
    assert "answer" not in run.stores[("embed", -1)].values.get("mavi_answer", {})  # too big to keep
    target.rmdir()
    result = op().execute(run.context("embed"))  # the documented window: this try pays again
    assert len(paid(sync_emulator, "embed_text")) == 2
    assert op().execute(run.context("embed")) == result  # once written, the small result is kept
    assert len(paid(sync_emulator, "embed_text")) == 2


def test_back_to_back_calls_stay_under_the_accounts_limit(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, run: Any
) -> None:
    """With Mavi's 1 request per second, four embeddings in a row are paced by the hook: none is refused."""
    from airflow_provider_mavi.emulator.testing import EmulatorServer

    monkeypatch.setenv("MAVI_RATE_LIMIT_DIR", str(tmp_path / "limits"))
    with EmulatorServer(qps=1, data_dir=tmp_path / "emu") as server:
        connection = {"conn_type": "mavi", "host": server.base_url, "password": server.api_key}
        monkeypatch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", json.dumps(connection))
        for i in range(4):
            MaviEmbedTextOperator(
                task_id=f"embed{i}",
                texts=[f"text {i}"],
                dimensionality=4,
                output_path=str(tmp_path / f"{i}.npy"),
            ).execute(run.context(f"embed{i}"))
        stats = server.stats()
    assert stats["requests"][TEXT] == 4
    assert stats["rate_limited"] == {}
    assert [job["kind"] for job in stats["jobs"]] == ["embed_text"] * 4
