"""MaviEmbedVideoOperator and MaviEmbedTextOperator: embedding vectors to a file (sync, no bridge).

The vectors go to ``output_path`` (``.npy`` or ``.parquet``, see :mod:`.vectors`), never to XCom: the XCom
keeps their shape, the path, the model and the price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, ClassVar

from airflow.sdk import ObjectStoragePath

from airflow_provider_mavi.endpoints import (
    EMBED_TEXT,
    EMBED_VIDEO,
    TEXT_EMBEDDING_MODEL,
    VIDEO_EMBEDDING_MODEL,
)
from airflow_provider_mavi.exceptions import MaviOperatorError
from airflow_provider_mavi.hooks.task import require_id
from airflow_provider_mavi.operators.sync import MaviSyncOperator
from airflow_provider_mavi.operators.vectors import vector_format, write_vectors

if TYPE_CHECKING:
    from collections.abc import Mapping, Sequence

    from airflow_provider_mavi.endpoints import Endpoint
    from airflow_provider_mavi.results import Embeddings

__all__ = ["MaviEmbedTextOperator", "MaviEmbedVideoOperator"]


class _MaviEmbedOperator(MaviSyncOperator):
    """What both embedding operators share: the output file, the document, the XCom summary.

    :param output_path: the ``.npy`` or ``.parquet`` file. (templated)
    :param model: the embedding model. (templated)
    :param mavi_conn_id: the ``mavi`` connection (no bridge needed). (templated)
    """

    def __init__(
        self,
        *,
        output_path: str | ObjectStoragePath,
        model: str,
        mavi_conn_id: str = "mavi_default",
        **kwargs: Any,
    ) -> None:
        super().__init__(mavi_conn_id=mavi_conn_id, **kwargs)
        if output_path in (None, ""):
            raise ValueError(
                f"{type(self).__name__} needs output_path (.npy or .parquet): vectors never go to XCom"
            )
        self.output_path = output_path
        self.model = model

    def _target(self) -> ObjectStoragePath:
        return ObjectStoragePath(str(self.output_path))

    def _common(self) -> dict[str, Any]:
        """The checked model, for :meth:`request`; the output format is checked too (it is not part of what
        is asked: a retry writing another format re-uses the answer)."""
        if not isinstance(self.model, str) or not self.model.strip():
            raise MaviOperatorError(f"model must be a non-empty string, got {self.model!r}")
        vector_format(str(self.output_path))
        return {"model": self.model}

    def document(self, value: Embeddings, request: Mapping[str, Any]) -> dict[str, Any]:
        """The vectors and their price, as JSON.

        :param value: the parsed answer.
        :param request: the checked request.
        """
        return {
            "model": request["model"],
            "vectors": [list(vector) for vector in value.vectors],
            "cost_usd": value.cost_usd,
            "cost_note": value.cost_note,
        }

    def prepare_output(self, request: Mapping[str, Any]) -> None:
        """Create the output file's directory before paying.

        :param request: the checked request.
        """
        self._target().parent.mkdir(parents=True, exist_ok=True)

    def columns(self, request: Mapping[str, Any], count: int) -> dict[str, list[Any]]:
        """Parquet's columns beside ``embedding`` (default: none).

        :param request: the checked request.
        :param count: how many vectors.
        """
        return {}

    def write(self, request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
        """Write the vectors; return ``{model, count, dimensions, shape, path, format, cost_usd, cost_note}``.

        :param request: the checked request.
        :param answer: the vectors document.
        """
        vectors = answer["vectors"]
        shape = [len(vectors), len(vectors[0])]
        target = self._target()
        metadata = {"model": answer["model"], "shape": shape}
        kind = write_vectors(target, vectors, columns=self.columns(request, shape[0]), metadata=metadata)
        self.log.info("Wrote %d x %d embedding(s) to %s", shape[0], shape[1], target)
        return {
            "model": answer["model"],
            "count": shape[0],
            "dimensions": shape[1],
            "shape": shape,
            "path": str(target),
            "format": kind,
            "cost_usd": answer["cost_usd"],
            "cost_note": answer["cost_note"],
        }


class MaviEmbedVideoOperator(_MaviEmbedOperator):
    """
    One embedding vector for a whole video (``/embeddings/video``), written to ``output_path``. No published
    price: ``cost_usd`` is null (the log says why).

    Returns ``{asset_id, model, count, dimensions, shape, path, format, cost_usd, cost_note}``; a Parquet file
    has the columns ``asset_id`` and ``embedding`` (a fixed-size list of float32).

    :param asset_id: a ready ``re_`` video asset. (templated)
    :param output_path: the ``.npy`` or ``.parquet`` file. (templated)
    :param model: ``multimodalembedding@001``, the only documented model. (templated)
    :param mavi_conn_id: the ``mavi`` connection (no bridge needed). (templated)
    :param kwargs: ``mavi_retry_attempts``, ``mavi_retry_delay`` and the ``BaseOperator`` arguments.
    """

    call_kind: ClassVar[str] = "embed_video"
    template_fields: Sequence[str] = ("asset_id", "output_path", "model", "mavi_conn_id")

    def __init__(
        self,
        *,
        asset_id: str,
        output_path: str | ObjectStoragePath,
        model: str = VIDEO_EMBEDDING_MODEL,
        **kwargs: Any,
    ) -> None:
        super().__init__(output_path=output_path, model=model, **kwargs)
        self.asset_id = asset_id

    def request(self) -> dict[str, Any]:
        """The rendered asset, model and output format, checked."""
        return {"asset_id": require_id(self.asset_id, "asset_id"), **self._common()}

    def endpoint(self, request: Mapping[str, Any]) -> Endpoint[Any]:
        """``/embeddings/video``.

        :param request: the checked request.
        """
        return EMBED_VIDEO

    def columns(self, request: Mapping[str, Any], count: int) -> dict[str, list[Any]]:
        """The video's asset id.

        :param request: the checked request.
        :param count: how many vectors (one).
        """
        return {"asset_id": [request["asset_id"]] * count}

    def write(self, request: Mapping[str, Any], answer: Mapping[str, Any]) -> dict[str, Any]:
        """See :meth:`_MaviEmbedOperator.write`; adds ``asset_id``.

        :param request: the checked request.
        :param answer: the vectors document.
        """
        return {"asset_id": request["asset_id"], **super().write(request, answer)}


class MaviEmbedTextOperator(_MaviEmbedOperator):
    """
    One embedding vector per text, in order (``/embeddings/text``), written to ``output_path``: row ``i`` is
    ``texts[i]``. $0.0000002 per token, but Mavi reports no token count, so ``cost_usd`` is null (never
    estimated; the log says why).

    Returns ``{model, count, dimensions, shape, path, format, cost_usd, cost_note}``; a Parquet file has the
    columns ``text`` and ``embedding`` (a fixed-size list of float32).

    :param texts: the texts, a non-empty list (an ``XComArg`` works; a Jinja string renders to one string,
        which is refused). (templated)
    :param output_path: the ``.npy`` or ``.parquet`` file. (templated)
    :param model: ``gemini-embedding-001``, the only documented model. (templated)
    :param dimensionality: the vectors' length (e.g. 256, 768); None: the model's default. (templated)
    :param mavi_conn_id: the ``mavi`` connection (no bridge needed). (templated)
    :param kwargs: ``mavi_retry_attempts``, ``mavi_retry_delay`` and the ``BaseOperator`` arguments.
    """

    call_kind: ClassVar[str] = "embed_text"
    template_fields: Sequence[str] = ("texts", "output_path", "model", "dimensionality", "mavi_conn_id")

    def __init__(
        self,
        *,
        texts: Sequence[str],
        output_path: str | ObjectStoragePath,
        model: str = TEXT_EMBEDDING_MODEL,
        dimensionality: int | str | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(output_path=output_path, model=model, **kwargs)
        if isinstance(texts, str) and "{{" not in texts:
            raise ValueError("texts must be a list of strings; for one text, give [text]")
        self.texts = texts
        self.dimensionality = dimensionality

    def request(self) -> dict[str, Any]:
        """The rendered texts, model, dimensionality and output format, checked."""
        texts = self.texts
        if isinstance(texts, str) or not isinstance(texts, (list, tuple)) or not texts:
            raise MaviOperatorError(
                f"texts must be a non-empty list of strings, got {type(texts).__name__} {str(texts)[:80]!r} "
                "(a Jinja template renders one string: pass an XComArg, or set render_template_as_native_obj "
                "on the DAG). Nothing was sent to Mavi."
            )
        dimensionality = self.dimensionality
        if isinstance(dimensionality, str):
            text = dimensionality.strip()
            dimensionality = None if text in ("", "None") else int(text) if text.isdigit() else dimensionality
        return {"texts": list(texts), "dimensionality": dimensionality, **self._common()}

    def endpoint(self, request: Mapping[str, Any]) -> Endpoint[Any]:
        """``/embeddings/text``.

        :param request: the checked request.
        """
        return EMBED_TEXT

    def checked(self, value: Embeddings, request: Mapping[str, Any]) -> Embeddings:
        """One vector per text, or ``MaviServerError`` (vectors that cannot be matched to texts).

        :param value: the parsed answer.
        :param request: the checked request.
        """
        return value.expect_count(len(request["texts"]))

    def columns(self, request: Mapping[str, Any], count: int) -> dict[str, list[Any]]:
        """The texts.

        :param request: the checked request.
        :param count: how many vectors (one per text).
        """
        return {"text": list(request["texts"])}
