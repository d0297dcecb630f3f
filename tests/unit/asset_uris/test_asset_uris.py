"""The ``mavi`` asset URI scheme, through Airflow's own Asset (the provider registers the scheme)."""

from __future__ import annotations

import pytest
from airflow.sdk import Asset

from airflow_provider_mavi.asset_uris import (
    callbacks_uri,
    convert_asset_to_openlineage,
    create_asset,
    mavi_asset_uri,
    mavi_namespace,
)
from airflow_provider_mavi.get_provider_info import get_provider_info
from airflow_provider_mavi.operators.lineage import JobLineage


def test_the_scheme_is_registered_with_all_three_parts() -> None:
    (entry,) = get_provider_info()["asset-uris"]
    assert entry["schemes"] == ["mavi"]
    assert {"handler", "factory", "to_openlineage_converter"} <= set(entry)


@pytest.mark.parametrize(
    ("uri", "normalised"),
    [
        ("mavi://Mavi-Backend.memories.ai/re_1", "mavi://mavi-backend.memories.ai/re_1"),
        ("mavi://callbacks/frames/", "mavi://callbacks/frames"),
        ("mavi://127.0.0.1:9000/im_5#frag", "mavi://127.0.0.1:9000/im_5"),
    ],
)
def test_airflow_normalises_a_mavi_uri(uri: str, normalised: str) -> None:
    assert Asset(uri).uri == normalised


@pytest.mark.parametrize(
    ("uri", "message"),
    [
        ("mavi:///re_1", "needs a host"),
        ("mavi://host", "names one thing"),
        ("mavi://host/a/b", "names one thing"),
        ("mavi://host/x?y=1", "has no query"),
        ("mavi://someone@host/x", "user info"),
    ],
)
def test_a_malformed_mavi_uri_fails_when_the_dag_is_parsed(uri: str, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        Asset(uri)


def test_helpers_build_uris_airflow_accepts() -> None:
    assert mavi_asset_uri("re_1") == "mavi://mavi-backend.memories.ai/re_1"
    assert mavi_asset_uri("im_2", "http://127.0.0.1:9000/serve/api/v2") == "mavi://127.0.0.1:9000/im_2"
    assert callbacks_uri("team-a.frames") == "mavi://callbacks/team-a.frames"
    asset = create_asset(asset_id="re_3", extra={"source": "cam1"})
    assert (asset.uri, asset.extra) == ("mavi://mavi-backend.memories.ai/re_3", {"source": "cam1"})
    assert Asset(callbacks_uri("frames")).uri == "mavi://callbacks/frames"


@pytest.mark.parametrize("bad", ["", "a/b", "a b", ".hidden", "x?y", None, 5])
def test_helpers_refuse_what_is_not_one_plain_segment(bad: object) -> None:
    with pytest.raises(ValueError, match="letters, digits"):
        mavi_asset_uri(bad)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="letters, digits"):
        callbacks_uri(bad)  # type: ignore[arg-type]


def test_a_base_url_without_host_has_no_namespace() -> None:
    with pytest.raises(ValueError, match="needs a host"):
        mavi_namespace("/serve/api/v2")


def test_an_asset_and_the_operators_lineage_name_the_same_dataset() -> None:
    base_url = "https://mavi-backend.memories.ai/serve/api/v2"
    dataset = convert_asset_to_openlineage(Asset(mavi_asset_uri("re_9", base_url)), None)

    class Op(JobLineage):
        _lineage_namespace = mavi_namespace(base_url)  # what pre_execute notes from the connection

    (named,) = Op().mavi_datasets(["re_9"])
    assert (
        (dataset.namespace, dataset.name)
        == (named.namespace, named.name)
        == (
            "mavi://mavi-backend.memories.ai",
            "re_9",
        )
    )
