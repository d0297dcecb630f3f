"""Embedding answers (``mavi-api.md`` §12.10), sync.

Video: ``data.embedding``, ONE vector for the whole video. Text: three documented shapes, all read:
``data`` an array of ``{embedding}`` (newest page), ``data.embedding`` (one input), ``data.embeddings``
(several inputs). Vector lengths are not documented: they are read from the answer, and every vector of one
answer must have the same length.

Prices: video embeddings have none published (None). Text embeddings cost $0.0000002 per token, but the
answer reports no token count, so ``cost_usd`` is None with that reason: tokens are never estimated.
"""

from __future__ import annotations

from dataclasses import dataclass

from airflow_provider_mavi.exceptions import MaviServerError
from airflow_provider_mavi.results.base import Result
from airflow_provider_mavi.results.callback import field_error, number, require_list, require_mapping
from airflow_provider_mavi.results.prices import (
    TEXT_EMBEDDING_PRICE,
    VIDEO_EMBEDDING_PRICE,
    Price,
    Usage,
    cost_and_note,
)

__all__ = ["Embeddings", "parse_text_embeddings", "parse_video_embedding"]

NO_TOKENS = "$0.0000002 per token, but Mavi's answer reports no token count (never estimated)"


@dataclass(frozen=True)
class Embeddings(Result):
    """Embedding vectors, one per input (one for a video).

    :param vectors: the vectors, in input order.
    :param cost_usd: None: no published price (video), or no token count in the answer (text).
    :param cost_note: why.
    """

    _derived = ("count", "dimensions")

    vectors: tuple[tuple[float, ...], ...]
    cost_usd: float | None
    cost_note: str | None

    @property
    def count(self) -> int:
        """How many vectors."""
        return len(self.vectors)

    @property
    def dimensions(self) -> int:
        """The length of every vector."""
        return len(self.vectors[0])

    @property
    def shape(self) -> tuple[int, int]:
        """``(count, dimensions)``, e.g. for a ``.npy`` file."""
        return self.count, self.dimensions

    def expect_count(self, inputs: int) -> Embeddings:
        """Itself, when it holds one vector per input; else ``MaviServerError`` (vectors that cannot be
        matched to their texts are never returned).

        :param inputs: how many texts were sent.
        """
        if self.count != inputs:
            raise MaviServerError(
                f"Mavi returned {self.count} embedding vector(s) for {inputs} input(s): they cannot be "
                "matched to the inputs."
            )
        return self


def _vector(value: object, field: str) -> tuple[float, ...]:
    items = require_list(value, field)
    if not items:
        raise field_error(field, "is an empty vector")
    return tuple(number(item, f"{field}[{i}]") for i, item in enumerate(items))


def _embeddings(vectors: tuple[tuple[float, ...], ...], price: Price, missing: str) -> Embeddings:
    lengths = {len(vector) for vector in vectors}
    if len(lengths) > 1:
        raise field_error("data", f"holds vectors of different lengths ({sorted(lengths)})")
    cost, note = cost_and_note(price, Usage(), missing)
    return Embeddings(vectors=vectors, cost_usd=cost, cost_note=note)


def parse_video_embedding(data: object) -> Embeddings:
    """
    Read the answer of ``/embeddings/video``: ``data.embedding``, one vector.

    :param data: the envelope's ``data``.
    :raises FieldError: naming the missing or malformed field.
    """
    body = require_mapping(data, "data")
    return _embeddings((_vector(body.get("embedding"), "data.embedding"),), VIDEO_EMBEDDING_PRICE, "")


def parse_text_embeddings(data: object) -> Embeddings:
    """
    Read the answer of ``/embeddings/text`` in any of its three documented shapes.

    :param data: the envelope's ``data``: ``[{embedding}, ...]``, ``{embedding}`` or ``{embeddings}``.
    :raises FieldError: naming the missing or malformed field.
    """
    if isinstance(data, list):
        if not data:
            raise field_error("data", "is an empty list")
        vectors = tuple(
            _vector(require_mapping(item, f"data[{i}]").get("embedding"), f"data[{i}].embedding")
            for i, item in enumerate(data)
        )
    else:
        body = require_mapping(data, "data")
        if "embedding" in body and "embeddings" in body:
            raise field_error("data", "has both 'embedding' and 'embeddings': which is meant is unclear")
        if "embeddings" in body:
            rows = require_list(body["embeddings"], "data.embeddings")
            if not rows:
                raise field_error("data.embeddings", "is an empty list")
            vectors = tuple(_vector(row, f"data.embeddings[{i}]") for i, row in enumerate(rows))
        else:
            vectors = (_vector(body.get("embedding"), "data.embedding"),)
    return _embeddings(vectors, TEXT_EMBEDDING_PRICE, NO_TOKENS)
