"""The standalone bridge's pages over loopback: the token login, the job page, escaping, refusals; and the job
fields and price the operators record (``PUT /v1/jobs/{job_id}``, ``POST /v1/jobs/{job_id}/cost``)."""

from __future__ import annotations

import html
import time
import uuid
from collections.abc import Callable
from urllib.parse import quote

import httpx
import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer

XSS = "<script>alert('mavi')</script><img src=x onerror=alert(1)>"


def client(bridge: BridgeServer, **kwargs: object) -> httpx.Client:
    return httpx.Client(base_url=bridge.url, timeout=10, **kwargs)  # type: ignore[arg-type]


def job_id() -> str:
    return uuid.uuid4().hex


def test_anonymous_or_wrong_credentials_get_the_login_form_and_no_data(bridge: BridgeServer) -> None:
    job = job_id()
    httpx.post(
        bridge.callback_url, json={"task_id": job, "code": 200, "message": "private"}
    ).raise_for_status()
    for headers, cookies in (
        ({}, {}),
        ({"Authorization": "Bearer wrong"}, {}),
        ({"Authorization": f"Basic {bridge.token}"}, {}),
        ({}, {"mavi_bridge_session": "4102444800." + "0" * 64}),
    ):
        with client(bridge, headers=headers, cookies=cookies) as anonymous:
            for path in ("/ui/", f"/ui/jobs/{job}", "/ui/jobs/unknown"):
                answer = anonymous.get(path)
                assert answer.status_code == 401, path
                assert 'name="token"' in answer.text
                assert 'type="password"' in answer.text
                assert "private" not in answer.text  # (the job id shows only in the form's own "next")
                assert 'id="deliveries"' not in answer.text
                assert 'id="received"' not in answer.text
                assert "set-cookie" not in answer.headers


def test_the_token_logs_a_browser_in_with_an_http_only_cookie_and_out_again(bridge: BridgeServer) -> None:
    job = job_id()
    httpx.post(bridge.callback_url, json={"task_id": job, "code": 200}).raise_for_status()
    with client(bridge) as browser:
        wrong = browser.post("/ui/login", data={"token": "nope", "next": f"/ui/jobs/{job}"})
        assert wrong.status_code == 401
        assert "That is not this bridge&#39;s API token." in wrong.text
        assert "set-cookie" not in wrong.headers
        answer = browser.post("/ui/login", data={"token": bridge.token, "next": f"/ui/jobs/{job}"})
        assert answer.status_code == 303
        assert answer.headers["location"] == f"/ui/jobs/{job}"
        cookie = answer.headers["set-cookie"]
        assert "HttpOnly" in cookie
        assert "SameSite=lax" in cookie
        assert "Path=/ui" in cookie
        assert bridge.token not in cookie
        page = browser.get(f"/ui/jobs/{job}")
        assert page.status_code == 200
        assert job in page.text
        assert browser.get("/ui/login").status_code == 303  # already logged in
        out = browser.post("/ui/logout")
        assert out.status_code == 303
        assert browser.get(f"/ui/jobs/{job}").status_code == 401
        elsewhere = browser.post("/ui/login", data={"token": bridge.token, "next": "https://evil.example/"})
        assert elsewhere.headers["location"] == "/ui/"
    output = bridge.output()
    assert bridge.token not in output
    assert "a login to the pages with a wrong token was refused" in output


def test_the_job_page_shows_the_record_every_delivery_and_timings(bridge: BridgeServer) -> None:
    job = job_id()
    headers = bridge.headers
    body = {
        "kind": "extract_frames",
        "asset_id": "re_9",
        "key": "k",
        "dag_id": "video",
        "run_id": "manual__1",
        "task_id": "frames",
        "map_index": 2,
        "deadline": time.time() + 600,
    }
    assert httpx.put(f"{bridge.url}/v1/jobs/{job}", json=body, headers=headers).status_code == 200
    for message in ("first", "first", "second"):  # one repeat, one different body
        httpx.post(
            bridge.callback_url, json={"task_id": job, "code": 200, "message": message}
        ).raise_for_status()
    assert (
        httpx.post(f"{bridge.url}/v1/jobs/{job}/cost", json={"cost_usd": 0.06}, headers=headers).json()[
            "cost_usd"
        ]
        == 0.06
    )
    page = httpx.get(f"{bridge.url}/ui/jobs/{job}", headers=headers)
    assert page.status_code == 200
    text = page.text
    for shown in (
        "delivered",
        "3 POST(s), 2 distinct body(ies)",
        "re_9",
        "video",
        "manual__1",
        "frames",
        "[2]",
        "$0.0600",
        "in 9 min",
        "after the submit",
        "Body 2",
        "&#34;second&#34;",
    ):
        assert shown in text, shown
    assert page.headers["content-security-policy"].startswith("default-src 'none'; script-src 'self'")
    assert page.headers["x-frame-options"] == "SAMEORIGIN"
    assert page.headers["cache-control"] == "no-store"
    missing = httpx.get(f"{bridge.url}/ui/jobs/{job_id()}", headers=headers)
    assert missing.status_code == 404
    assert "no job record and no callback" in missing.text


def test_a_hostile_payload_and_job_id_are_escaped_everywhere(bridge: BridgeServer) -> None:
    job = f"{job_id()}<img src=x onerror=alert(2)>"  # a path segment: no slash in it
    kind = "<b>kind</b>"
    httpx.put(
        f"{bridge.url}/v1/jobs/{quote(job, safe='')}",
        json={"kind": kind, "asset_id": XSS[:60]},
        headers=bridge.headers,
    ).raise_for_status()
    httpx.post(bridge.callback_url, json={"task_id": job, "code": XSS, "message": XSS, "data": {XSS: XSS}})
    for path in (f"/ui/jobs/{quote(job, safe='')}", "/ui/"):
        text = httpx.get(f"{bridge.url}{path}", headers=bridge.headers).text
        assert "<script>" not in text
        assert "<img src=x" not in text
        assert "<b>kind" not in text
        assert html.escape(XSS, quote=False).replace("'", "&#39;") in text
        assert html.escape(job, quote=False) in text
    assert "&lt;b&gt;kind&lt;/b&gt;" in text


@pytest.mark.parametrize("odd", ["%00", "a%00b", "%01", "%C3%28", "a%5Cb", "x" * 201])
def test_the_job_page_of_an_id_no_job_can_have_is_a_404_page(bridge: BridgeServer, odd: str) -> None:
    answer = httpx.get(f"{bridge.url}/ui/jobs/{odd}", headers=bridge.headers)
    assert answer.status_code == 404
    assert answer.headers["content-type"].startswith("text/html")


def test_the_mavi_page_over_http(bridge: BridgeServer) -> None:
    waiting, stray = job_id(), job_id()
    httpx.put(
        f"{bridge.url}/v1/jobs/{waiting}",
        json={
            "kind": "transcribe_audio",
            "asset_id": "re_1",
            "dag_id": "page_dag",
            "task_id": "listen",
            "deadline": time.time() - 120,
        },
        headers=bridge.headers,
    )
    httpx.post(bridge.callback_url, json={"task_id": stray, "code": 200, "data": {"splits": []}})
    page = httpx.get(f"{bridge.url}/ui/", headers=bridge.headers)
    assert page.status_code == 200
    waiting_row = page.text.split(waiting, 2)[2].split("</tr>")[0]  # after the link's href and text
    assert "transcribe_audio" in waiting_row
    assert "overdue by 2 min" in waiting_row
    stray_row = page.text.split('id="unclaimed"')[1].split(stray, 2)[2].split("</tr>")[0]
    assert "split_video" in stray_row
    assert "page_dag" in page.text.split('id="spend-by-dag"')[1]
    assert httpx.get(f"{bridge.url}/ui").status_code == 307
    for name, kind in (
        ("mavi.css", "text/css"),
        ("mavi.js", "text/javascript"),
        ("mavi.svg", "image/svg+xml"),
    ):
        static = httpx.get(f"{bridge.url}/ui/static/{name}")  # public: no data in them
        assert static.status_code == 200
        assert static.headers["content-type"].startswith(kind)
    assert httpx.get(f"{bridge.url}/ui/static/..%2Fapp.py").status_code == 404


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"dag_id": ""}, "dag_id must be a string of 1 to 250 characters, or null"),
        ({"map_index": "3"}, "map_index must be an integer from -1 to 2147483647, or null"),
        (
            {"deadline": -1},
            "deadline must be epoch seconds (a positive number, at most 253402300799), or null",
        ),
        (
            {"deadline": 1e300},
            "deadline must be epoch seconds (a positive number, at most 253402300799), or null",
        ),
        ({"map_index": 2**40}, "map_index must be an integer from -1 to 2147483647, or null"),
        ({"task_id": "t\x00"}, "task_id cannot contain U+0000"),
    ],
)
def test_bad_job_fields_are_refused_and_store_nothing(
    bridge: BridgeServer, table_rows: Callable[[], dict[str, int]], body: dict, message: str
) -> None:
    before = table_rows()
    job = job_id()
    answer = httpx.put(
        f"{bridge.url}/v1/jobs/{job}",
        json={"kind": "extract_frames", "asset_id": "re_1", **body},
        headers=bridge.headers,
    )
    assert (answer.status_code, answer.json()) == (400, {"detail": message})
    assert table_rows() == before


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"not json", "the body is not JSON: Expecting value (line 1, column 1)"),
        (b'{"cost_usd": 1, "cost_usd": 2}', "the body has the key 'cost_usd' more than once"),
        (b'{"cost_usd": NaN}', "the body holds NaN, which is not a JSON number"),
        (b"[0.5]", 'the body must be {"cost_usd": dollars or null}'),
        (b'{"cost_usd": -1}', "cost_usd must be a number of dollars from 0 to 1e+06, or null"),
        (b'{"cost_usd": "0.5"}', "cost_usd must be a number of dollars from 0 to 1e+06, or null"),
    ],
)
def test_a_bad_price_is_refused_and_the_recorded_one_kept(
    bridge: BridgeServer, content: bytes, message: str
) -> None:
    job = job_id()
    httpx.put(
        f"{bridge.url}/v1/jobs/{job}",
        json={"kind": "extract_frames", "asset_id": "re_1"},
        headers=bridge.headers,
    ).raise_for_status()
    httpx.post(f"{bridge.url}/v1/jobs/{job}/cost", json={"cost_usd": 0.25}, headers=bridge.headers)
    answer = httpx.post(f"{bridge.url}/v1/jobs/{job}/cost", content=content, headers=bridge.headers)
    assert (answer.status_code, answer.json()) == (400, {"detail": message})
    assert httpx.get(f"{bridge.url}/v1/jobs/{job}", headers=bridge.headers).json()["cost_usd"] == 0.25


def test_the_price_route_needs_the_token_and_a_known_job(bridge: BridgeServer) -> None:
    assert httpx.post(f"{bridge.url}/v1/jobs/x/cost", json={"cost_usd": 1}).status_code == 401
    unknown = httpx.post(
        f"{bridge.url}/v1/jobs/{job_id()}/cost", json={"cost_usd": 1}, headers=bridge.headers
    )
    assert (unknown.status_code, unknown.json()) == (404, {"detail": "unknown job"})
