"""What every new callback parser shares, on mavi-api.md's own examples: both success codes, ``message`` or
``msg``, failures reported by the code or by the inner ``data.success``, and malformed envelopes."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.exceptions import MaviCallbackError
from airflow_provider_mavi.results import (
    FieldError,
    parse_audio_callback,
    parse_edit_callback,
    parse_multi_speaker_callback,
    parse_scenes_callback,
    parse_speaker_callback,
    parse_split_callback,
    parse_summary_callback,
)

from .. import mavi_examples as ex
from .conftest import changed, dropped

#: (parser, mavi-api.md's example callback).
CALLBACKS = [
    pytest.param(parse_audio_callback, ex.AUDIO_CALLBACK, id="audio"),
    pytest.param(parse_speaker_callback, ex.SPEAKER_CALLBACK, id="speaker"),
    pytest.param(parse_multi_speaker_callback, ex.MULTI_SPEAKER_CALLBACK, id="multi_speaker"),
    pytest.param(parse_summary_callback, ex.SUMMARY_CALLBACK, id="summary"),
    pytest.param(parse_scenes_callback, ex.SCENES_CALLBACK, id="scenes"),
    pytest.param(parse_split_callback, ex.SPLIT_CALLBACK, id="split"),
    pytest.param(parse_edit_callback, ex.EDIT_CALLBACK, id="edit"),
]


def test_the_examples_are_the_documents_own() -> None:
    root = Path(__file__).resolve().parents[3]  # the clone; the document lives in ../shared beside main
    docs = [up / "shared" / "mavi-api.md" for up in (root.parent, root.parent.parent)]
    found = [doc for doc in docs if doc.exists()]
    if not found:
        pytest.skip("mavi-api.md is not beside this clone")
    text = found[0].read_text()
    copied = [value for name, value in vars(ex).items() if name.endswith("_TEXT")]
    assert len(copied) == 17
    for block in copied:
        assert block in text


@pytest.mark.parametrize(("parse", "payload"), CALLBACKS)
@pytest.mark.parametrize("code", [200, "200", "0000"])
def test_every_success_code_parses(parse: Any, payload: dict[str, Any], code: object) -> None:
    result = parse(changed(payload, code, "code"))
    assert result.job_id == payload["task_id"]
    assert result.to_dict()["job_id"] == payload["task_id"]


@pytest.mark.parametrize(("parse", "payload"), CALLBACKS)
def test_msg_instead_of_message_parses(parse: Any, payload: dict[str, Any]) -> None:
    renamed = dropped(payload, "message")
    renamed["msg"] = "SUCCESS"
    assert parse(renamed).job_id == payload["task_id"]


@pytest.mark.parametrize(("parse", "payload"), CALLBACKS)
@pytest.mark.parametrize("key", ["message", "msg"])
def test_a_failure_code_is_a_failed_job_with_mavis_message(
    parse: Any, payload: dict[str, Any], key: str
) -> None:
    failure = {"code": 500, key: "Video decoding failed", "data": None, "task_id": payload["task_id"]}
    with pytest.raises(MaviCallbackError, match="Mavi reported a failed job: Video decoding failed") as info:
        parse(failure)
    assert info.value.job_id == payload["task_id"]
    assert info.value.mavi_message == "Video decoding failed"


@pytest.mark.parametrize(("parse", "payload"), CALLBACKS)
def test_inner_success_false_is_a_failure_with_the_inner_message(parse: Any, payload: dict[str, Any]) -> None:
    failure = changed(payload, {**payload["data"], "success": False, "msg": "no speech found"}, "data")
    with pytest.raises(MaviCallbackError, match="failed job: no speech found"):
        parse(failure)


@pytest.mark.parametrize(("parse", "payload"), CALLBACKS)
@pytest.mark.parametrize(
    ("mutate", "field"),
    [
        (lambda p: dropped(p, "task_id"), "'task_id'"),
        (lambda p: changed(p, 7, "task_id"), "'task_id'"),
        (lambda p: dropped(p, "code"), "'code'"),
        (lambda p: dropped(p, "data"), "'data'"),
        (lambda p: changed(p, [], "data"), "'data'"),
    ],
)
def test_a_malformed_envelope_names_the_field(
    parse: Any, payload: dict[str, Any], mutate: Any, field: str
) -> None:
    bad = mutate(payload)
    before = copy.deepcopy(bad)
    with pytest.raises(MaviCallbackError, match=field):
        parse(bad)
    assert bad == before  # parsing never changes what it was given


@pytest.mark.parametrize("payload", [None, [], "SUCCESS", 3])
def test_a_body_that_is_not_an_object_is_refused(payload: Any) -> None:
    with pytest.raises(MaviCallbackError, match="callback body"):
        parse_summary_callback(payload)


def test_field_errors_pickle_with_their_field() -> None:
    error = FieldError("data.splits[0].asset_id", "is missing or not a string")
    clone = pickle.loads(pickle.dumps(error))
    assert (type(clone), clone.field, clone.problem, str(clone)) == (
        FieldError,
        "data.splits[0].asset_id",
        "is missing or not a string",
        "Mavi callback field 'data.splits[0].asset_id' is missing or not a string",
    )
    assert isinstance(clone, MaviCallbackError)


def test_results_are_json_ready_for_xcom() -> None:
    import json

    for param in CALLBACKS:
        parse, payload = param.values
        document = parse(payload).to_dict()
        assert json.loads(json.dumps(document)) == document  # plain JSON: no tuples, no dataclasses


@pytest.mark.parametrize(
    ("parse", "payload", "path"),
    [
        (parse_audio_callback, ex.AUDIO_CALLBACK, ("data", "data", "usage_metadata", "duration")),
        (parse_speaker_callback, ex.SPEAKER_CALLBACK, ("data", "data", "usage_metadata", "duration")),
        (
            parse_multi_speaker_callback,
            ex.MULTI_SPEAKER_CALLBACK,
            ("data", "data", "usage_metadata", 0, "duration"),
        ),
        (parse_summary_callback, ex.SUMMARY_CALLBACK, ("data", "data", "usage", "duration")),
        (parse_scenes_callback, ex.SCENES_CALLBACK, ("data", "data", "exec_time")),
    ],
)
def test_a_negative_duration_is_a_malformed_field_never_a_negative_price(
    parse: Any, payload: dict[str, Any], path: tuple[Any, ...]
) -> None:
    with pytest.raises(MaviCallbackError, match=r"is negative \(-5 s\)") as info:
        parse(changed(payload, -5, *path))
    assert info.value.field == ".".join(str(p) for p in path).replace(".0.", "[0].")
