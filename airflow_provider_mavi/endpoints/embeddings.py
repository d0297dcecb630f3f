"""Embeddings (``mavi-api.md`` §12.10), sync: one vector per video, one per text.

Both are 1 QPS ("Embeddings are also 1 QPS", §6); whether video and text share that limit is not said, so
they share one bucket (the safe reading). They are paid (text: per token), so they follow the submit rule.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from airflow_provider_mavi.endpoints.base import Endpoint, Kind, answer
from airflow_provider_mavi.endpoints.checks import check_asset_id, check_choice, check_texts, check_whole
from airflow_provider_mavi.endpoints.models import TEXT_EMBEDDING_MODEL, VIDEO_EMBEDDING_MODEL
from airflow_provider_mavi.results import Embeddings, parse_text_embeddings, parse_video_embedding
from airflow_provider_mavi.results.prices import TEXT_EMBEDDING_PRICE, VIDEO_EMBEDDING_PRICE

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["EMBED_TEXT", "EMBED_VIDEO", "text_embedding_body", "video_embedding_body"]


def video_embedding_body(asset_id: str, model: str = VIDEO_EMBEDDING_MODEL) -> dict[str, Any]:
    """The body of ``/embeddings/video``.

    :param asset_id: the video asset.
    :param model: ``multimodalembedding@001``, the only documented model.
    """
    return {
        "asset_id": check_asset_id(asset_id),
        "model": check_choice(model, (VIDEO_EMBEDDING_MODEL,), "model"),
    }


def text_embedding_body(
    texts: Sequence[str], model: str = TEXT_EMBEDDING_MODEL, dimensionality: int | None = None
) -> dict[str, Any]:
    """The body of ``/embeddings/text`` (Mavi's field ``input``).

    :param texts: the texts, a non-empty list (one vector each, in order).
    :param model: ``gemini-embedding-001``, the only documented model.
    :param dimensionality: the vectors' length (e.g. 256, 512, 768); None: the model's default.
    """
    body: dict[str, Any] = {
        "input": check_texts(texts, "texts"),
        "model": check_choice(model, (TEXT_EMBEDDING_MODEL,), "model"),
    }
    if dimensionality is not None:
        body["dimensionality"] = check_whole(dimensionality, "dimensionality", minimum=1)
    return body


EMBED_VIDEO: Endpoint[Embeddings] = Endpoint(
    "embed_video", "POST", "/embeddings/video", Kind.CALL, creates=True, bucket="Embeddings",
    price=VIDEO_EMBEDDING_PRICE, parse=answer(parse_video_embedding), body=video_embedding_body,
)  # fmt: skip
EMBED_TEXT: Endpoint[Embeddings] = Endpoint(
    "embed_text", "POST", "/embeddings/text", Kind.CALL, creates=True, bucket="Embeddings",
    price=TEXT_EMBEDDING_PRICE, parse=answer(parse_text_embeddings), body=text_embedding_body,
)  # fmt: skip
