"""Embedding vectors written to a file: ``.npy`` (always) or ``.parquet`` (with ``pyarrow``), float32.

Neither numpy nor pyarrow comes with Airflow. ``.npy`` needs neither: its format (NumPy's NEP 1, version
1.0) is a 10-byte preamble, a Python-literal header padded to 64 bytes, then the raw little-endian float32
matrix in row order, which the standard library writes. ``.parquet`` needs ``pyarrow``
(``pip install 'airflow-provider-mavi[parquet]'``); without it the task fails before anything is paid.
Vectors are float32, what vector stores and similarity libraries take (the answers' values carry about
float32's precision).
"""

from __future__ import annotations

import importlib.util
import json
import sys
from array import array
from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.exceptions import MaviOperatorError

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow.sdk import ObjectStoragePath

__all__ = ["FORMATS", "npy_bytes", "vector_format", "write_vectors"]

#: File suffix → format.
FORMATS = {".npy": "npy", ".parquet": "parquet"}
_MAGIC = b"\x93NUMPY\x01\x00"
_ALIGN = 64


def vector_format(path: str) -> str:
    """The format of an output file from its suffix; checks that it can be written here.

    :param path: the output file.
    :raises MaviOperatorError: for another suffix, or ``.parquet`` without ``pyarrow``.
    """
    suffix = next((s for s in FORMATS if path.lower().endswith(s)), None)
    if suffix is None:
        raise MaviOperatorError(
            f"output_path must end in .npy or .parquet, got {path!r}. Nothing was sent to Mavi."
        )
    if FORMATS[suffix] == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise MaviOperatorError(
            "Writing .parquet needs pyarrow, which is not installed: pip install "
            "'airflow-provider-mavi[parquet]', or write .npy. Nothing was sent to Mavi."
        )
    return FORMATS[suffix]


def npy_bytes(vectors: Sequence[Sequence[float]]) -> bytes:
    """The ``.npy`` file (format 1.0) of a ``(count, dimensions)`` float32 matrix.

    :param vectors: rows of equal length.
    """
    rows, columns = len(vectors), len(vectors[0]) if vectors else 0
    if any(len(row) != columns for row in vectors):
        raise ValueError("every vector must have the same length")
    header = f"{{'descr': '<f4', 'fortran_order': False, 'shape': ({rows}, {columns}), }}"
    padding = -(len(_MAGIC) + 2 + len(header) + 1) % _ALIGN
    text = (header + " " * padding + "\n").encode("latin1")
    data = array("f", (value for row in vectors for value in row))
    if sys.byteorder == "big":  # pragma: no cover - little-endian everywhere Airflow runs
        data.byteswap()
    return _MAGIC + len(text).to_bytes(2, "little") + text + data.tobytes()


def _parquet(
    target: ObjectStoragePath,
    vectors: Sequence[Sequence[float]],
    columns: Mapping[str, Sequence[Any]],
    metadata: Mapping[str, Any],
) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    width = len(vectors[0])
    flat = pa.array([value for row in vectors for value in row], type=pa.float32())
    embedding = pa.FixedSizeListArray.from_arrays(flat, width)
    table = pa.table(
        {**{name: pa.array(list(values)) for name, values in columns.items()}, "embedding": embedding}
    )
    table = table.replace_schema_metadata({"mavi": json.dumps(dict(metadata))})
    with target.open("wb") as handle:
        pq.write_table(table, handle)


def write_vectors(
    target: ObjectStoragePath,
    vectors: Sequence[Sequence[float]],
    *,
    columns: Mapping[str, Sequence[Any]] | None = None,
    metadata: Mapping[str, Any] | None = None,
) -> str:
    """Write vectors to ``target`` in the format its suffix names; return the format.

    :param target: the file (local or object storage); its directory must exist.
    :param vectors: one row per input, in input order.
    :param columns: Parquet only: more columns, one value per vector (e.g. the texts).
    :param metadata: Parquet only: kept as the schema's ``mavi`` metadata (JSON).
    """
    kind = vector_format(str(target))
    if kind == "npy":
        target.write_bytes(npy_bytes(vectors))
    else:
        _parquet(target, vectors, columns or {}, metadata or {})
    return kind
