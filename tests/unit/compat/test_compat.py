"""airflow_provider_mavi.compat: each name works on the Airflow it runs on (3.3 in make test, 3.1.8 in make
compat-test), and local ObjectStoragePaths are told from plain paths on both."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import airflow
import pytest
from airflow.providers.standard.triggers.temporal import TimeDeltaTrigger
from airflow.sdk import BaseOperator, ObjectStoragePath
from packaging.version import Version

from airflow_provider_mavi.compat import (
    HAS_TASK_STATE_STORE,
    NEVER_EXPIRE,
    TaskDeferred,
    conf,
    dag_bag_class,
    is_plain_path,
    storage_conn_id,
)
from airflow_provider_mavi.hooks.transfer import AtomicWriter, replace, upload_source

AIRFLOW = Version(airflow.__version__)


def test_the_task_state_store_is_detected_by_version() -> None:
    assert (AIRFLOW.release >= (3, 3)) == HAS_TASK_STATE_STORE
    assert (NEVER_EXPIRE is not None) == HAS_TASK_STATE_STORE


def test_defer_raises_the_compat_task_deferred() -> None:
    class Waits(BaseOperator):
        def execute(self, context: object) -> None:
            self.defer(trigger=TimeDeltaTrigger(timedelta(seconds=1)), method_name="execute")

    with pytest.raises(TaskDeferred) as caught:
        Waits(task_id="waits").execute({})
    assert caught.value.method_name == "execute"


def test_a_dag_file_on_the_daily_timetable_parses(tmp_path: Path) -> None:
    assert conf.get("core", "dags_folder")
    (tmp_path / "one.py").write_text(
        "from airflow.sdk import DAG\nfrom airflow_provider_mavi.compat import CronDataIntervalTimetable\n"
        "dag = DAG('one', schedule=CronDataIntervalTimetable('0 0 * * *', timezone='UTC'))\n"
    )
    bag = dag_bag_class()(dag_folder=str(tmp_path))
    assert bag.import_errors == {}
    assert "one" in bag.dags  # 3.1 also loads Airflow's examples here
    assert type(bag.dags["one"].timetable).__name__ == "CronDataIntervalTimetable"


def test_only_a_pathlib_path_is_a_plain_path(tmp_path: Path) -> None:
    assert is_plain_path(tmp_path)
    assert not is_plain_path(ObjectStoragePath(tmp_path.as_uri()))
    assert not is_plain_path(ObjectStoragePath("s3://bucket/key"))
    assert not is_plain_path(str(tmp_path))


def test_a_local_object_storage_file_is_moved_into_place(tmp_path: Path) -> None:
    """On 3.1 ``os.fspath()`` of a local ObjectStoragePath is a ``file://`` URL: the move must not use it."""
    folder = ObjectStoragePath(f"file://{tmp_path}/frames dir")
    folder.mkdir(parents=True)
    writer = AtomicWriter(folder / "clip one_frame_00000.jpg")
    writer.write(b"jpeg bytes")
    target = writer.commit()
    assert (tmp_path / "frames dir" / "clip one_frame_00000.jpg").read_bytes() == b"jpeg bytes"
    assert [p.name for p in (tmp_path / "frames dir").iterdir()] == ["clip one_frame_00000.jpg"]
    temp = folder / ".again.part"
    temp.write_bytes(b"newer")
    replace(temp, target)
    assert (tmp_path / "frames dir" / "clip one_frame_00000.jpg").read_bytes() == b"newer"
    assert not (tmp_path / "frames dir" / ".again.part").exists()


def test_a_local_object_storage_file_uploads_with_its_name_and_size(tmp_path: Path) -> None:
    (tmp_path / "a clip.mp4").write_bytes(b"x" * 42)
    source = upload_source(ObjectStoragePath(f"file://{tmp_path}/a clip.mp4"))
    assert (source.name, source.size) == ("a clip.mp4", 42)
    with source.opener() as stream:
        assert stream.read() == b"x" * 42


def test_the_connection_of_an_object_storage_path() -> None:
    assert storage_conn_id(ObjectStoragePath("s3://my_conn@bucket/videos/a.mp4")) == "my_conn"
    assert storage_conn_id(ObjectStoragePath("s3://bucket/videos/a.mp4")) is None
