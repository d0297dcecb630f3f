"""OpenLineage for the Mavi operators: what a task read and wrote, named as the OpenLineage spec names it.

Each operator gets ``get_openlineage_facets_on_complete`` from one mixin here (upload, job, download). The
lineage is built from the task's rendered fields and what it noted in the process that finished it (after
a deferral, the one that ran ``execute_complete``). The OpenLineage provider is an optional extra
(``[openlineage]``): nothing here imports it but :func:`openlineage_enabled` (a guarded import), and
:mod:`.lineage_facets` does only when the provider calls the method.

Names (OpenLineage's dataset naming):

- a local file or folder: namespace ``file``, name the absolute path (``file://host/...``: ``file://host``);
- object storage and HTTP: namespace ``<scheme>://<bucket or host>``, name the key (``s3://bucket`` +
  ``videos/a.mp4``; ``gs://...``; ``https://host`` + path), never user info or a query;
- a Mavi asset: namespace ``mavi://<api host>``, name the asset id (:mod:`airflow_provider_mavi.asset_uris`).
"""

from __future__ import annotations

import os
import posixpath
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar
from urllib.parse import unquote, urlsplit

from airflow_provider_mavi.asset_uris import mavi_namespace

if TYPE_CHECKING:
    from airflow.providers.openlineage.extractors import OperatorLineage

    from airflow_provider_mavi.hooks.mavi import MaviHook

__all__ = [
    "DatasetName",
    "DownloadLineage",
    "JobLineage",
    "TaskLineage",
    "UploadLineage",
    "location_dataset",
    "openlineage_enabled",
]


@dataclass(frozen=True)
class DatasetName:
    """An OpenLineage dataset's identity.

    :param namespace: where it lives (``file``, ``s3://bucket``, ``mavi://host``).
    :param name: what it is there (a path, a key, an asset id).
    """

    namespace: str
    name: str


@dataclass(frozen=True)
class TaskLineage:
    """What one Mavi task read and wrote, and what it cost: the content of its OpenLineage facets.

    :param inputs: datasets read.
    :param outputs: datasets written.
    :param job_id: the Mavi job id, for job operators.
    :param job_kind: the job's kind (``extract_frames``...).
    :param input_asset_ids: the Mavi assets read.
    :param output_asset_ids: the Mavi assets made.
    :param cost_usd: what the task cost, None when unknown.
    """

    inputs: tuple[DatasetName, ...] = ()
    outputs: tuple[DatasetName, ...] = ()
    job_id: str | None = None
    job_kind: str | None = None
    input_asset_ids: tuple[str, ...] = ()
    output_asset_ids: tuple[str, ...] = ()
    cost_usd: float | None = None


def location_dataset(location: object) -> DatasetName | None:
    """The dataset of a local path or a URL, or None when ``location`` is not one.

    :param location: a path string, ``os.PathLike``, ``ObjectStoragePath`` or URL string.
    """
    if location is None:
        return None
    text = str(location) if not isinstance(location, (str, os.PathLike)) else os.fspath(location)
    if not isinstance(text, str) or not text.strip():
        return None
    if "://" not in text:
        return DatasetName("file", _clean_path(os.path.abspath(os.path.expanduser(text))))
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = (parts.hostname or "").lower()
    if parts.port:
        host = f"{host}:{parts.port}"
    if scheme in {"file", "local"}:
        return DatasetName(f"file://{host}" if host else "file", _clean_path(unquote(parts.path) or "/"))
    if not host:
        return None
    key = unquote(parts.path).strip("/")
    return DatasetName(f"{scheme}://{host}", key or "/")


def _clean_path(path: str) -> str:
    cleaned = posixpath.normpath(path.replace(os.sep, "/"))
    return "/" + cleaned.lstrip("/")


def _mapping(value: object) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _price(value: object) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _text(value: object) -> str | None:
    return value if isinstance(value, str) and value.strip() else None


def openlineage_enabled() -> bool:
    """Whether the OpenLineage provider is installed and configured to emit (else lineage costs nothing)."""
    try:
        from airflow.providers.openlineage.conf import is_disabled
    except ImportError:
        return False
    try:
        return not is_disabled()
    except Exception:  # a broken lineage configuration must never fail a paid task
        return False


class _MaviLineage:
    """Shared by the three mixins: what the task noted while it ran, turned into an ``OperatorLineage``.

    The OpenLineage listener calls ``get_openlineage_facets_on_complete`` in a forked process (its
    default) where the task can no longer reach Airflow (a connection or an XCom read there hangs until the
    listener kills it), so everything is noted beforehand, in the task's own process: the Mavi namespace in
    ``pre_execute``, the XComs named in :attr:`lineage_xcom_keys` in ``post_execute``, and what the operator
    notes itself with :meth:`note_lineage`. Nothing of this runs unless OpenLineage is installed and
    enabled.
    """

    hook: MaviHook
    task_id: str
    log: Any
    #: XComs the task pushed that its lineage is read from, pulled in ``post_execute``.
    lineage_xcom_keys: ClassVar[tuple[str, ...]] = ()
    _lineage_notes: dict[str, Any] | None = None
    _lineage_namespace: str | None = None

    def note_lineage(self, key: str, value: Any) -> None:
        """Keep something the lineage is built from (the result, the job id), in this process.

        :param key: ``return_value``, ``job_id``, ``media``...
        :param value: the value.
        """
        if self._lineage_notes is None:
            self._lineage_notes = {}
        self._lineage_notes[key] = value

    def pre_execute(self, context: Any) -> None:
        """Note the Mavi namespace of the connection (when OpenLineage is on), then Airflow's own.

        :param context: the task's context.
        """
        if openlineage_enabled():
            try:
                self._lineage_namespace = mavi_namespace(self.hook.get_settings().base_url)
            except Exception as error:
                self.log.warning("No Mavi dataset names in the lineage of this task: %s", error)
        super().pre_execute(context)  # type: ignore[misc]

    def post_execute(self, context: Any, result: Any = None) -> None:
        """Pull the XComs the lineage needs (when OpenLineage is on), then Airflow's own.

        :param context: the task's context.
        :param result: the task's result (Airflow 3 passes none here).
        """
        if openlineage_enabled():
            ti = context["ti"]
            for key in self.lineage_xcom_keys:
                if key not in (self._lineage_notes or {}):
                    try:
                        self.note_lineage(key, ti.xcom_pull(task_ids=ti.task_id, key=key))
                    except Exception as error:
                        self.log.warning("Could not read XCom %r for the lineage: %s", key, error)
        super().post_execute(context, result)  # type: ignore[misc]

    def task_lineage(self, notes: Mapping[str, Any]) -> TaskLineage:
        """What the task read and wrote, from its rendered fields and its notes.

        :param notes: what was noted while the task ran.
        """
        raise NotImplementedError

    def mavi_datasets(self, asset_ids: Iterable[str]) -> tuple[DatasetName, ...]:
        """The datasets of Mavi assets of this task's connection (none when its namespace is unknown).

        :param asset_ids: the asset ids.
        """
        if self._lineage_namespace is None:
            return ()
        return tuple(DatasetName(self._lineage_namespace, asset_id) for asset_id in asset_ids)

    def get_openlineage_facets_on_complete(self, task_instance: Any) -> OperatorLineage | None:
        """Called by the OpenLineage provider (when installed) once the task ended, success or failure.

        :param task_instance: the finished task instance (not used: see the class docstring).
        """
        from airflow_provider_mavi.operators.lineage_facets import operator_lineage

        return operator_lineage(self.task_lineage(self._lineage_notes or {}))


def _mavi_ids(result: Mapping[str, Any]) -> list[str]:
    return [value for key, value in result.items() if key.endswith("_asset_id") and _text(value)]


class UploadLineage(_MaviLineage):
    """Upload: the source file in, the ``re_`` asset out (pushed as XCom ``media``)."""

    source: Any
    lineage_xcom_keys: ClassVar[tuple[str, ...]] = ("media",)

    def task_lineage(self, notes: Mapping[str, Any]) -> TaskLineage:
        """The source video in, the Mavi asset out (the call itself is free).

        :param notes: ``media`` (``{asset_id, source, ...}``).
        """
        media = _mapping(notes.get("media"))
        source = location_dataset(media.get("source") or self.source)
        asset_id = _text(media.get("asset_id"))
        return TaskLineage(
            inputs=(source,) if source else (),
            outputs=self.mavi_datasets([asset_id] if asset_id else []),
            output_asset_ids=(asset_id,) if asset_id else (),
            cost_usd=0.0 if asset_id else None,
        )


class JobLineage(_MaviLineage):
    """A Mavi job: the asset in; out, what the result names.

    The outputs come from the task's result (its XCom ``return_value``) by a naming rule, so a new job
    operator gets lineage without code: every string under a key ending in ``_path`` is a file written;
    every string under a key ending in ``_asset_id`` is a Mavi asset made (``frames_asset_id``). Lists
    (``frame_asset_ids``: one per frame) are left out on purpose. Override :meth:`lineage_outputs` for
    anything else.
    """

    asset_id: Any
    job_kind: ClassVar[str]

    def lineage_inputs(self) -> list[str]:
        """The Mavi assets the job read (default: the rendered ``asset_id``)."""
        asset_id = _text(self.asset_id)
        return [asset_id.strip()] if asset_id else []

    def lineage_outputs(self, result: Mapping[str, Any]) -> tuple[list[str], list[str]]:
        """The files written and the Mavi assets made, as ``(locations, asset ids)``.

        :param result: the task's result.
        """
        files = [value for key, value in result.items() if key.endswith("_path") and _text(value)]
        return files, _mavi_ids(result)

    def task_lineage(self, notes: Mapping[str, Any]) -> TaskLineage:
        """The asset in; the result's files and assets out; the job id and its price in the facet.

        :param notes: ``return_value`` (the result, absent when the task failed) and ``job_id``.
        """
        result = _mapping(notes.get("return_value"))
        inputs = self.lineage_inputs()
        files, made = self.lineage_outputs(result)
        written = [dataset for dataset in map(location_dataset, files) if dataset is not None]
        return TaskLineage(
            inputs=self.mavi_datasets(inputs),
            outputs=self.mavi_datasets(made) + tuple(written),
            job_id=_text(result.get("job_id")) or _text(notes.get("job_id")),
            job_kind=self.job_kind or None,
            input_asset_ids=tuple(inputs),
            output_asset_ids=tuple(made),
            cost_usd=_price(result.get("cost_usd")),
        )


class DownloadLineage(_MaviLineage):
    """Download: the Mavi asset in; the file written, or the frames directory when unpacked, out."""

    asset_id: Any
    destination: Any
    extract: bool

    def task_lineage(self, notes: Mapping[str, Any]) -> TaskLineage:
        """The asset in, the destination out.

        :param notes: ``return_value`` (``{asset_id, paths, cost_usd, ...}``; absent when the task failed).
        """
        result = _mapping(notes.get("return_value"))
        asset_id = _text(result.get("asset_id")) or _text(self.asset_id)
        paths = result.get("paths") if isinstance(result.get("paths"), list) else []
        if self.extract:
            target = location_dataset(self.destination) if result else None
        else:
            target = location_dataset(paths[0]) if paths else None
        return TaskLineage(
            inputs=self.mavi_datasets([asset_id.strip()] if asset_id else []),
            outputs=(target,) if target else (),
            input_asset_ids=(asset_id.strip(),) if asset_id else (),
            cost_usd=_price(result.get("cost_usd")),
        )
