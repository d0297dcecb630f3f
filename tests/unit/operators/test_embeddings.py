"""The embedding operators and their .npy / .parquet files without a server."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow.parquet as pq
import pytest

from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.operators import vectors
from airflow_provider_mavi.operators.mavi import (
    MaviEmbedTextOperator,
    MaviEmbedVideoOperator,
    MaviOperatorError,
)
from airflow_provider_mavi.results import parse_text_embeddings, parse_video_embedding

from .. import mavi_examples as ex


class PaidHook:
    """Answers each call with the next scripted answer and counts the paid calls."""

    def __init__(self, *answers: Any) -> None:
        self.answers = list(answers)
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def call(self, endpoint: Any, /, **params: Any) -> Any:
        self.calls.append((endpoint.name, params))
        return self.answers.pop(0)


def with_hook(op: Any, hook: PaidHook) -> Any:
    op.hook = hook
    return op


# ------------------------------------------------------------------------------------- .npy


@pytest.mark.parametrize("shape", [(1, 3), (2, 5), (7, 1), (3, 1408)])
def test_npy_bytes_load_with_numpy(tmp_path: Path, shape: tuple[int, int]) -> None:
    rows = np.random.default_rng(0).normal(size=shape).tolist()
    data = vectors.npy_bytes(rows)
    header_end = data.index(b"\n") + 1
    assert header_end % 64 == 0  # aligned as numpy writes it
    (tmp_path / "v.npy").write_bytes(data)
    loaded = np.load(tmp_path / "v.npy")
    assert loaded.shape == shape
    assert loaded.dtype == np.dtype("<f4")
    assert np.array_equal(loaded, np.array(rows, dtype=np.float32))


def test_npy_refuses_ragged_vectors() -> None:
    with pytest.raises(ValueError, match="same length"):
        vectors.npy_bytes([[1.0, 2.0], [3.0]])


@pytest.mark.parametrize("path", ["/out/v.csv", "/out/v", "s3://b/v.npz"])
def test_only_npy_and_parquet(path: str) -> None:
    with pytest.raises(MaviOperatorError, match=r"output_path must end in \.npy or \.parquet"):
        vectors.vector_format(path)


def test_parquet_without_pyarrow_fails_before_paying(
    run: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    real = vectors.importlib.util.find_spec
    monkeypatch.setattr(
        vectors.importlib.util, "find_spec", lambda name, *a: None if name == "pyarrow" else real(name, *a)
    )
    hook = PaidHook()
    op = with_hook(
        MaviEmbedVideoOperator(task_id="e", asset_id="re_1", output_path=str(tmp_path / "v.parquet")), hook
    )
    with pytest.raises(
        MaviOperatorError, match=r"needs pyarrow.*airflow-provider-mavi\[parquet\].*or write \.npy"
    ):
        op.execute(run.context("e"))
    assert hook.calls == []


# ------------------------------------------------------------------------------------- operators


def test_output_path_is_required_and_texts_a_list() -> None:
    with pytest.raises(ValueError, match="needs output_path"):
        MaviEmbedVideoOperator(task_id="e", asset_id="re_1", output_path="")
    with pytest.raises(ValueError, match=r"texts must be a list of strings; for one text, give \[text\]"):
        MaviEmbedTextOperator(task_id="e", texts="a red car", output_path="/o/t.npy")


def test_a_template_that_rendered_one_string_is_refused(run: Any) -> None:
    hook = PaidHook()
    op = with_hook(
        MaviEmbedTextOperator(task_id="e", texts="{{ params.texts }}", output_path="/o/t.npy"), hook
    )
    op.texts = "['a', 'b']"  # what Jinja renders from a list
    with pytest.raises(MaviOperatorError, match="pass an XComArg, or set render_template_as_native_obj"):
        op.execute(run.context("e"))
    assert hook.calls == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (
            {"model": "text-embedding-3-small"},
            "model must be one of 'gemini-embedding-001', got 'text-embedding-3-small'. Nothing was sent",
        ),
        ({"dimensionality": 0}, "dimensionality must be"),
        ({"texts": ["ok", "  "]}, r"texts\[1\]"),
    ],
)
def test_bad_text_requests_fail_before_sending(run: Any, kwargs: dict[str, Any], message: str) -> None:
    kwargs.setdefault("texts", ["a", "b"])
    hook = PaidHook()
    op = with_hook(MaviEmbedTextOperator(task_id="e", output_path="/o/t.npy", **kwargs), hook)
    with pytest.raises(MaviOperatorError, match=message):
        op.execute(run.context("e"))
    assert hook.calls == []


def test_a_bad_asset_id_fails_before_sending(run: Any) -> None:
    hook = PaidHook()
    op = with_hook(MaviEmbedVideoOperator(task_id="e", asset_id="re_1/../x", output_path="/o/v.npy"), hook)
    with pytest.raises(MaviOperatorError, match="Nothing was sent to Mavi"):
        op.execute(run.context("e"))
    assert hook.calls == []


def test_the_video_example_to_npy(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(parse_video_embedding(ex.VIDEO_EMBEDDING_ANSWER["data"]))
    target = tmp_path / "deep" / "v.npy"
    result = with_hook(
        MaviEmbedVideoOperator(task_id="e", asset_id="re_1", output_path=str(target)), hook
    ).execute(run.context("e"))
    assert hook.calls == [("embed_video", {"asset_id": "re_1", "model": "multimodalembedding@001"})]
    assert np.load(target).tolist() == [[0.015625, -0.0234375, 0.03125]]
    assert result["shape"] == [1, 3]
    assert "vectors" not in result
    assert run.xcom("e", "mavi_cost_usd") is None


def test_texts_to_parquet_keep_their_text(run: Any, tmp_path: Path) -> None:
    data = {"embeddings": [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]]}
    hook = PaidHook(parse_text_embeddings(data))
    texts = ["one", "two", "three"]
    op = MaviEmbedTextOperator(
        task_id="e", texts=texts, dimensionality="2", output_path=str(tmp_path / "t.parquet")
    )
    result = with_hook(op, hook).execute(run.context("e"))
    assert hook.calls == [
        ("embed_text", {"texts": texts, "dimensionality": 2, "model": "gemini-embedding-001"})
    ]
    table = pq.read_table(tmp_path / "t.parquet")
    assert table.column("text").to_pylist() == texts
    assert np.allclose(np.array(table.column("embedding").to_pylist()), data["embeddings"])
    assert json.loads(table.schema.metadata[b"mavi"]) == {"model": "gemini-embedding-001", "shape": [3, 2]}
    assert result["count"] == 3
    assert result["format"] == "parquet"


def test_a_vector_count_that_differs_from_the_texts_is_refused(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(parse_text_embeddings({"embeddings": [[0.1, 0.2]]}))
    op = MaviEmbedTextOperator(task_id="e", texts=["a", "b"], output_path=str(tmp_path / "t.npy"))
    with pytest.raises(MaviServerError, match=r"returned 1 embedding vector\(s\) for 2 input\(s\)"):
        with_hook(op, hook).execute(run.context("e"))
    assert not (tmp_path / "t.npy").exists()
    assert run.stores[("e", -1)].values == {}


def test_a_retry_writing_another_format_re_uses_the_answer(run: Any, tmp_path: Path) -> None:
    hook = PaidHook(parse_video_embedding(ex.VIDEO_EMBEDDING_ANSWER["data"]))
    for name in ("v.npy", "v.parquet"):
        op = MaviEmbedVideoOperator(task_id="e", asset_id="re_1", output_path=str(tmp_path / name))
        result = with_hook(op, hook).execute(run.context("e"))
    assert len(hook.calls) == 1
    assert result["format"] == "parquet"
    assert pq.read_table(tmp_path / "v.parquet").num_rows == 1
