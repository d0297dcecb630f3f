"""``POST /embeddings/video`` and ``POST /embeddings/text`` (sync; ``mavi-api.md`` §12.10).

Vectors are computed from the media or the text (``embeddings.py``). The text endpoint answers in the
newest shape (``data`` an array of ``{embedding}``) unless the emulator's ``text_embedding_shape`` setting
asks for an older one.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Request

from airflow_provider_mavi.emulator import analysis, apidoc, describe, embeddings, prices
from airflow_provider_mavi.emulator.gate import API_PREFIX
from airflow_provider_mavi.emulator.routing import usable_asset
from airflow_provider_mavi.emulator.submit import Endpoint, Prepared, answer_sync, requires

if TYPE_CHECKING:
    from starlette.responses import Response

    from airflow_provider_mavi.emulator.state import EmulatorState
    from airflow_provider_mavi.emulator.store import Asset

VIDEO_MODEL = "multimodalembedding@001"
TEXT_MODEL = "gemini-embedding-001"
MAX_TEXTS = 1000

router = APIRouter(prefix=API_PREFIX + "/embeddings")


def _video_params(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a ready video and the one documented model.

    :param state: the account.
    :param body: the request body.
    """
    asset = usable_asset(state, body["asset_id"], "video")
    return (
        None if asset is None or body["model"] != VIDEO_MODEL else Prepared([asset], {"model": VIDEO_MODEL})
    )


def _text_params(state: EmulatorState, body: dict[str, Any]) -> Prepared | None:
    """Accept a list of non-blank strings, the one documented model and a dimensionality of 1 to 3072.

    :param state: the account.
    :param body: the request body.
    """
    texts, model = body["input"], body["model"]
    dimension = body.get("dimensionality", embeddings.TEXT_DIMENSION)
    if (
        not isinstance(texts, list)
        or not 0 < len(texts) <= MAX_TEXTS
        or not all(isinstance(t, str) and t.strip() for t in texts)
        or model != TEXT_MODEL
        or isinstance(dimension, bool)
        or not isinstance(dimension, int)
        or not 1 <= dimension <= embeddings.TEXT_DIMENSION
    ):
        return None
    tokens = sum(describe.count_tokens(t) for t in texts)
    cost = prices.usd(tokens * prices.TEXT_EMBEDDING_USD_PER_TOKEN)
    return Prepared(
        [],
        {"model": model, "dimensionality": dimension, "inputs": len(texts), "tokens": tokens},
        cost,
        {"texts": texts},
    )


async def _video(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Embed a video from its measured frames and sound.

    :param state: the account.
    :param job: the job's record.
    :param assets: the video.
    :param params: ``model``.
    """
    (asset,) = assets
    assert asset.path is not None
    scan = await state.run_blocking(analysis.video, asset.path, state.settings.frame_interval)
    sound = await state.run_blocking(analysis.speech_or_none, asset.path)
    return {"embedding": await state.run_blocking(embeddings.video_vector, scan, sound)}


async def _text(
    state: EmulatorState, job: dict[str, Any], assets: list[Asset], params: dict[str, Any]
) -> Any:
    """Embed texts; the answer's shape follows the ``text_embedding_shape`` setting.

    :param state: the account.
    :param job: the job's record.
    :param assets: none.
    :param params: ``texts``, ``dimensionality``.
    """
    vectors = [embeddings.text_vector(t, params["dimensionality"]) for t in params["texts"]]
    shape = state.settings.text_embedding_shape
    if shape == "array":
        return [{"embedding": v} for v in vectors]
    if len(vectors) == 1:
        return {"embedding": vectors[0]}
    return {"embeddings": vectors} if shape == "plural" else {"embedding": vectors}


VIDEO = Endpoint("embed_video", requires("asset_id", "model"), _video_params, _video)
TEXT = Endpoint("embed_text", requires("input", "model"), _text_params, _text)
_VECTOR = apidoc.array(apidoc.NUMBER)
_VIDEO_ROUTE = apidoc.json_route(
    VIDEO,
    {"asset_id": apidoc.ASSET_ID, "model": {"enum": [VIDEO_MODEL]}},
    apidoc.obj(("embedding",), embedding=_VECTOR),
)
_TEXT_ROUTE = apidoc.json_route(
    TEXT,
    {
        "input": {**apidoc.array({"type": "string", "minLength": 1}), "minItems": 1, "maxItems": MAX_TEXTS},
        "model": {"enum": [TEXT_MODEL]},
        "dimensionality": {"type": "integer", "minimum": 1, "maximum": embeddings.TEXT_DIMENSION},
    },
    {
        "description": "the shape follows --text-embedding-shape: array (default), plural or singular",
        "anyOf": [
            apidoc.array(apidoc.obj(("embedding",), embedding=_VECTOR)),
            apidoc.obj(("embedding",), embedding={"anyOf": [_VECTOR, apidoc.array(_VECTOR)]}),
            apidoc.obj(("embeddings",), embeddings=apidoc.array(_VECTOR)),
        ],
    },
)


@router.post("/video", **_VIDEO_ROUTE)
async def embed_video(request: Request) -> Response:
    """Answer one embedding for a whole video.

    :param request: the request.
    """
    return await answer_sync(request, VIDEO)


@router.post("/text", **_TEXT_ROUTE)
async def embed_text(request: Request) -> Response:
    """Answer one embedding per input text.

    :param request: the request.
    """
    return await answer_sync(request, TEXT)
