"""Video and text embeddings (sync): measured, deterministic vectors; three text answer shapes."""

from __future__ import annotations

import math
from fractions import Fraction

import av
import pytest

LIMIT = {"code": 400, "msg": "Request has exceeded the limit.", "data": None}


def _cosine(a, b):
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(
        sum(x * x for x in a) * sum(y * y for y in b)
    )


def _reencode(source, target, crf, size):
    """A slightly different copy: the picture re-encoded smaller with another setting, the sound copied."""
    with av.open(str(source)) as src, av.open(str(target), mode="w") as out:
        stream = out.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = size[0], size[1], "yuv420p"
        stream.options = {"crf": str(crf), "preset": "veryfast"}
        sound = out.add_stream_from_template(src.streams.audio[0])
        for index, frame in enumerate(src.decode(video=0)):
            copy = frame.reformat(width=size[0], height=size[1], format="yuv420p")
            copy.pts, copy.time_base = index, Fraction(1, 10)
            for packet in stream.encode(copy):
                out.mux(packet)
        for packet in stream.encode(None):
            out.mux(packet)
        src.seek(0)
        for packet in src.demux(src.streams.audio[0]):
            if packet.dts is not None:
                packet.stream = sound
                out.mux(packet)
    return target


def test_similar_videos_are_closer(server, videos, api, tmp_path):
    copy = _reencode(videos["small"], tmp_path / "copy.mp4", 34, (288, 216))
    ids = {
        name: api.ready(server, path)
        for name, path in (("small", videos["small"]), ("copy", copy), ("other", videos["other"]))
    }
    vectors = {}
    for name, asset_id in ids.items():
        body = api.post(
            server, "/embeddings/video", {"asset_id": asset_id, "model": "multimodalembedding@001"}
        ).json()
        assert (body["code"], body["msg"], body["success"]) == (200, "success", True)
        assert set(body["data"]) == {"embedding"}  # one vector for the whole video
        vectors[name] = body["data"]["embedding"]
        assert len(vectors[name]) == 1408
        assert math.sqrt(sum(v * v for v in vectors[name])) == pytest.approx(1.0, abs=1e-5)
    near = _cosine(vectors["small"], vectors["copy"])
    far = _cosine(vectors["small"], vectors["other"])
    assert near > 0.95 > far
    again = api.post(
        server, "/embeddings/video", {"asset_id": ids["small"], "model": "multimodalembedding@001"}
    )
    assert again.json()["data"]["embedding"] == vectors["small"]  # deterministic
    stats = server.stats()
    assert stats["jobs_by_asset"][ids["small"]] == {"embed_video": 2}
    assert stats["spend_usd"] == 0  # the video embedding's price is not documented


def test_video_embedding_validation(make_server, videos, api):
    server = make_server()
    assert api.post(server, "/embeddings/video", {"model": "multimodalembedding@001"}).json()["msg"] == (
        "asset_id cannot be null or empty"
    )
    assert (
        api.post(server, "/embeddings/video", {"asset_id": "re_1"}).json()["msg"]
        == "model cannot be null or empty"
    )
    asset_id = api.ready(server, videos["small"])
    assert (
        api.post(server, "/embeddings/video", {"asset_id": asset_id, "model": "mobileclip"}).json() == LIMIT
    )
    audio = api.ready(server, videos["audio"])
    assert (
        api.post(server, "/embeddings/video", {"asset_id": audio, "model": "multimodalembedding@001"}).json()
        == LIMIT
    )


def test_text_embeddings_newest_shape(server, api):
    texts = ["A red box moves to the right.", "a red box moving right", "Quarterly revenue grew by 4%."]
    body = api.post(server, "/embeddings/text", {"input": texts, "model": "gemini-embedding-001"}).json()
    assert body["code"] == 200
    data = body["data"]
    assert isinstance(data, list)
    assert len(data) == 3
    vectors = [item["embedding"] for item in data]
    assert all(set(item) == {"embedding"} and len(item["embedding"]) == 3072 for item in data)
    assert _cosine(vectors[0], vectors[1]) > _cosine(vectors[0], vectors[2])
    single = api.post(
        server, "/embeddings/text", {"input": texts[:1], "model": "gemini-embedding-001"}
    ).json()
    assert single["data"] == [{"embedding": vectors[0]}]  # no singular variant in the newest shape
    small = api.post(
        server,
        "/embeddings/text",
        {"input": texts[:1], "model": "gemini-embedding-001", "dimensionality": 256},
    ).json()["data"][0]["embedding"]
    assert len(small) == 256
    job = server.stats()["jobs"][0]
    assert (job["kind"], job["inputs"], job["dimensionality"]) == ("embed_text", 3, 3072)
    assert job["cost_usd"] == pytest.approx(job["tokens"] * 0.0000002, abs=1e-9)
    assert job["tokens"] == 8 + 5 + 7  # words and punctuation marks


@pytest.mark.parametrize(
    ("shape", "one", "many"),
    [
        ("plural", {"embedding"}, {"embeddings"}),
        ("singular", {"embedding"}, {"embedding"}),
    ],
)
def test_text_embeddings_older_shapes(make_server, api, shape, one, many):
    server = make_server(text_embedding_shape=shape, success_code="0000")
    first = api.post(server, "/embeddings/text", {"input": ["hello"], "model": "gemini-embedding-001"}).json()
    assert first["code"] == "0000"
    assert set(first["data"]) == one
    assert len(first["data"]["embedding"]) == 3072
    both = api.post(
        server, "/embeddings/text", {"input": ["hello", "world"], "model": "gemini-embedding-001"}
    ).json()
    assert set(both["data"]) == many
    (vectors,) = both["data"].values()
    assert len(vectors) == 2
    assert vectors[0] == first["data"]["embedding"]


def test_text_embedding_validation(server, api):
    path = "/embeddings/text"
    assert (
        api.post(server, path, {"model": "gemini-embedding-001"}).json()["msg"]
        == "input cannot be null or empty"
    )
    assert api.post(server, path, {"input": [], "model": "gemini-embedding-001"}).json()["msg"] == (
        "input cannot be null or empty"
    )
    assert api.post(server, path, {"input": ["x"]}).json()["msg"] == "model cannot be null or empty"
    for body in (
        {"input": "a bare string", "model": "gemini-embedding-001"},
        {"input": ["ok", 5], "model": "gemini-embedding-001"},
        {"input": ["ok", " "], "model": "gemini-embedding-001"},
        {"input": ["ok"], "model": "text-embedding-004"},
        {"input": ["ok"], "model": "gemini-embedding-001", "dimensionality": 0},
        {"input": ["ok"], "model": "gemini-embedding-001", "dimensionality": 4096},
        {"input": ["ok"], "model": "gemini-embedding-001", "dimensionality": "256"},
    ):
        assert api.post(server, path, body).json() == LIMIT, body
    assert server.stats()["jobs"] == []


def test_balance_stops_text_embeddings(make_server, api):
    server = make_server(balance_usd=0.000001)  # 5 tokens
    ok = api.post(
        server, "/embeddings/text", {"input": ["one two three four five"], "model": "gemini-embedding-001"}
    )
    assert ok.status_code == 200
    refused = api.post(server, "/embeddings/text", {"input": ["six"], "model": "gemini-embedding-001"})
    assert refused.status_code == 402
