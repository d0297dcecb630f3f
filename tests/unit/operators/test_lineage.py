"""OpenLineage of the operators: dataset names, the ``mavi`` run facet, nothing changed without the provider.

The facets the real OpenLineage listener collects for the example pipeline are checked in
tests/e2e/test_airflow_native.py.
"""

from __future__ import annotations

import importlib
import importlib.abc
import json
import sys
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from openlineage.client.serde import Serde
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from airflow_provider_mavi.operators import lineage
from airflow_provider_mavi.operators.lineage import DatasetName, location_dataset
from airflow_provider_mavi.operators.mavi import (
    MaviDownloadAssetOperator,
    MaviExtractFramesOperator,
    MaviTranscribeVideoOperator,
    MaviUploadOperator,
)

SCHEMA = json.loads(
    (Path(__file__).parents[3] / "airflow_provider_mavi" / "operators" / "MaviRunFacet.json").read_text()
)
# The spec's RunFacet (_producer and _schemaURL), which the schema refers to by URL: no network here.
SPEC = "https://openlineage.io/spec/2-0-2/OpenLineage.json"
RUN_FACET = {
    "type": "object",
    "properties": {"_producer": {"type": "string"}, "_schemaURL": {"type": "string"}},
    "required": ["_producer", "_schemaURL"],
}
VALIDATOR = jsonschema.Draft202012Validator(
    SCHEMA,
    registry=Registry().with_resource(SPEC, DRAFT202012.create_resource({"$defs": {"RunFacet": RUN_FACET}})),
)


class Settings:
    base_url = "https://Mavi-Backend.memories.ai/serve/api/v2"


class Hook:
    def __init__(self) -> None:
        self.reads = 0

    def get_settings(self) -> Settings:
        self.reads += 1
        return Settings()


class TI:
    """The task instance of the task's own process: its XComs can be pulled there."""

    task_id = "task"

    def __init__(self, **xcoms: Any) -> None:
        self.xcoms = xcoms
        self.pulled: list[tuple[str, str]] = []

    def xcom_pull(self, *, task_ids: str, key: str) -> Any:
        self.pulled.append((task_ids, key))
        return self.xcoms.get(key)


class Forked:
    """What the OpenLineage listener hands the method in its forked process: nothing may be asked of it."""

    def __getattr__(self, name: str) -> Any:
        raise AssertionError(f"the lineage asked the task instance for {name!r} in the forked process")


@pytest.fixture
def enabled(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(lineage, "openlineage_enabled", lambda: True)


def lineage_of(op: Any, ti: TI | None = None, **notes: Any) -> Any:
    """Run the task's own-process steps (pre_execute, what execute notes, post_execute), then the method."""
    op.hook = Hook()
    context = {"ti": ti or TI()}
    op.pre_execute(context)
    for key, value in notes.items():
        op.note_lineage(key, value)
    op.post_execute(context)
    return op.get_openlineage_facets_on_complete(Forked())


def names(datasets: list[Any]) -> list[tuple[str, str]]:
    return [(d.namespace, d.name) for d in datasets]


def facet(lineage: Any) -> dict[str, Any]:
    data = Serde.to_dict(lineage.run_facets["mavi"])
    VALIDATOR.validate({"mavi": data})  # what ships in MaviRunFacet.json
    return data


@pytest.mark.parametrize(
    ("location", "expected"),
    [
        ("/data/in/clip one.mp4", DatasetName("file", "/data/in/clip one.mp4")),
        ("file:///data/out/run/frames/", DatasetName("file", "/data/out/run/frames")),
        ("file:///data/a%20b.mp4", DatasetName("file", "/data/a b.mp4")),
        ("file://nas01/share/x.mp4", DatasetName("file://nas01", "/share/x.mp4")),
        ("s3://Bucket/videos/a.mp4", DatasetName("s3://bucket", "videos/a.mp4")),
        ("s3://aws_conn@bucket/videos/", DatasetName("s3://bucket", "videos")),
        ("gs://bkt/k/x.mp4", DatasetName("gs://bkt", "k/x.mp4")),
        (
            "https://user:pw@cdn.example.com:8443/v.mp4?sig=1",
            DatasetName("https://cdn.example.com:8443", "v.mp4"),
        ),
        ("s3:///no-bucket", None),
        ("", None),
        (None, None),
    ],
)
def test_dataset_names(location: Any, expected: DatasetName | None) -> None:
    assert location_dataset(location) == expected


def test_a_relative_path_is_named_by_its_absolute_path(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert location_dataset("clip.mp4") == DatasetName("file", str(tmp_path / "clip.mp4"))


def test_upload_reads_the_video_and_makes_the_asset(enabled: None) -> None:
    op = MaviUploadOperator(task_id="upload", source="s3://videos/in/cam1.mp4")
    ti = TI(media={"asset_id": "re_7", "source": "s3://videos/in/cam1.mp4", "size_bytes": 10})
    lineage = lineage_of(op, ti)
    assert names(lineage.inputs) == [("s3://videos", "in/cam1.mp4")]
    assert names(lineage.outputs) == [("mavi://mavi-backend.memories.ai", "re_7")]
    assert ti.pulled == [("task", "media")]
    data = facet(lineage)
    assert (data["outputAssetIds"], data["costUsd"], data.get("jobId")) == (["re_7"], 0.0, None)


def test_a_failed_upload_still_names_its_source(enabled: None) -> None:
    op = MaviUploadOperator(task_id="upload", source="/in/a.mp4")
    op.hook = Hook()
    op.pre_execute({"ti": TI()})  # then execute raised: post_execute never ran
    lineage = op.get_openlineage_facets_on_complete(Forked())
    assert (names(lineage.inputs), lineage.outputs) == ([("file", "/in/a.mp4")], [])
    assert "costUsd" not in facet(lineage)  # unknown: left out, never a guess


def test_extract_frames_reads_the_video_asset_and_makes_the_frame_group(enabled: None) -> None:
    op = MaviExtractFramesOperator(task_id="frames", asset_id="re_7")
    result = {
        "job_id": "j-1",
        "frames_asset_id": "im_9",
        "frame_asset_ids": [f"imc_9_{i}" for i in range(300)],  # one per frame: not 300 datasets
        "frame_count": 300,
        "cost_usd": 0.06,
    }
    lineage = lineage_of(op, job_id="j-1", return_value=result)
    assert names(lineage.inputs) == [("mavi://mavi-backend.memories.ai", "re_7")]
    assert names(lineage.outputs) == [("mavi://mavi-backend.memories.ai", "im_9")]
    data = facet(lineage)
    assert data["jobId"] == "j-1"
    assert data["jobKind"] == "extract_frames"
    assert (data["inputAssetIds"], data["outputAssetIds"], data["costUsd"]) == (["re_7"], ["im_9"], 0.06)


def test_a_transcript_written_to_files_is_the_output(enabled: None) -> None:
    op = MaviTranscribeVideoOperator(task_id="describe", asset_id="re_7", output_path="gs://out/t/")
    result = {
        "job_id": "j-2",
        "model": "gemini-2.5-flash",
        "cost_usd": 0.0083,
        "segment_count": 2,
        "json_path": "gs://out/t/j-2.json",
        "vtt_path": "gs://out/t/j-2.vtt",
    }
    lineage = lineage_of(op, return_value=result)
    assert names(lineage.outputs) == [("gs://out", "t/j-2.json"), ("gs://out", "t/j-2.vtt")]
    assert facet(lineage)["jobKind"] == "transcribe_video"


def test_a_transcript_kept_in_xcom_has_no_output_and_a_failed_job_keeps_its_id(enabled: None) -> None:
    op = MaviTranscribeVideoOperator(task_id="describe", asset_id="re_7")
    kept = lineage_of(op, return_value={"job_id": "j-3", "segments": [], "cost_usd": 0.001})
    assert kept.outputs == []
    op = MaviTranscribeVideoOperator(task_id="describe", asset_id="re_7")
    failed = lineage_of(op, job_id="j-4")  # failed: no result, the job id noted first
    assert names(failed.inputs) == [("mavi://mavi-backend.memories.ai", "re_7")]
    data = facet(failed)
    assert (data["jobId"], data.get("costUsd")) == ("j-4", None)


def test_frames_unpacked_into_a_directory_output_the_directory(tmp_path: Path, enabled: None) -> None:
    target = tmp_path / "frames"
    op = MaviDownloadAssetOperator(task_id="dl", asset_id="im_9", destination=target.as_uri(), extract=True)
    result = {"asset_id": "im_9", "paths": [str(target / "f1.jpg")], "cost_usd": 1.2e-05}
    lineage = lineage_of(op, return_value=result)
    assert names(lineage.inputs) == [("mavi://mavi-backend.memories.ai", "im_9")]
    assert names(lineage.outputs) == [("file", str(target))]
    assert facet(lineage)["costUsd"] == 1.2e-05


def test_a_single_file_download_outputs_the_file_written(enabled: None) -> None:
    op = MaviDownloadAssetOperator(task_id="dl", asset_id="re_7", destination="s3://b/videos/")
    lineage = lineage_of(op, return_value={"asset_id": "re_7", "paths": ["s3://b/videos/cam1.mp4"]})
    assert names(lineage.outputs) == [("s3://b", "videos/cam1.mp4")]


def test_with_openlineage_off_nothing_is_read_for_it() -> None:
    op = MaviUploadOperator(task_id="upload", source="/in/a.mp4")
    op.hook = Hook()
    ti = TI(media={"asset_id": "re_7", "source": "/in/a.mp4"})
    op.pre_execute({"ti": ti})
    op.post_execute({"ti": ti})
    assert (op.hook.reads, ti.pulled) == (0, [])  # installed but not configured: no connection, no XCom


def test_openlineage_is_on_once_a_transport_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.providers.openlineage import conf

    def fresh() -> bool:
        for read in (conf.is_disabled, conf.transport):  # cached outside pytest only
            getattr(read, "cache_clear", lambda: None)()
        return lineage.openlineage_enabled()

    monkeypatch.delenv("AIRFLOW__OPENLINEAGE__TRANSPORT", raising=False)
    assert not fresh()
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__TRANSPORT", '{"type": "console"}')
    assert fresh()
    monkeypatch.setenv("AIRFLOW__OPENLINEAGE__DISABLED", "true")
    assert not fresh()
    monkeypatch.undo()
    fresh()


class _HideOpenLineage(importlib.abc.MetaPathFinder):
    """A finder that makes the OpenLineage packages look not installed."""

    HIDDEN = ("openlineage", "airflow.providers.openlineage", "airflow.providers.common.compat.openlineage")

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name.startswith(self.HIDDEN):
            raise ModuleNotFoundError(f"No module named {name!r} (hidden by the test)", name=name)
        return None


def test_without_the_openlineage_provider_nothing_changes(
    monkeypatch: pytest.MonkeyPatch, run: Any, fake_bridge: Any
) -> None:
    for name in list(sys.modules):
        if name.startswith((*_HideOpenLineage.HIDDEN, "airflow_provider_mavi")):
            monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(sys, "meta_path", [_HideOpenLineage(), *sys.meta_path])
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("openlineage.client")

    operators = importlib.import_module("airflow_provider_mavi.operators.mavi")
    op = operators.MaviExtractFramesOperator(task_id="frames", asset_id="re_1", deferrable=False)
    op.hook = type("Paid", (), {"extract_frames": staticmethod(lambda asset_id: "job-1")})()
    op.bridge_hook = fake_bridge.hook()
    fake_bridge.deliver(
        "job-1",
        {
            "code": 200,
            "message": "SUCCESS",
            "task_id": "job-1",
            "data": {"asset_id": "im_1", "asset_ch_ids": ["imc_1_0"]},
        },
    )
    result = op.execute(run.context("frames"))
    assert result["frames_asset_id"] == "im_1"
    assert not [name for name in sys.modules if name.startswith(_HideOpenLineage.HIDDEN)]
    # only the OpenLineage listener calls this, and it cannot be there: the import error is the provider's
    with pytest.raises(ModuleNotFoundError):
        op.get_openlineage_facets_on_complete(Forked())
