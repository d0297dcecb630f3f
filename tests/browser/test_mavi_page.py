"""The Mavi page and the connection form in a real browser, against a real ``airflow api-server``.

One Airflow (simple auth manager, a known user), the bridge mounted in it by the plugin, the emulator posting
its callbacks to that bridge. A real DAG run (``airflow dags test``) submits two paid jobs through the
operators; a third job is submitted with the hook and recorded (its callback dropped by the emulator: it
waits); a fourth is submitted straight to the emulator, so its callback arrives unclaimed. The tests run in
order and share the module's stack. Screenshots go to ``.test-artifacts/browser/``.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any
from urllib.parse import quote

import httpx
import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.e2e]

XSS = "<script>window.__mavi_xss = 1</script><img src=x onerror=window.__mavi_xss=2>"


@pytest.fixture(scope="module")
def session(stack: Any, browser: Any) -> Any:
    """A browser context logged in to Airflow through its own login form."""
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    page = context.new_page()
    page.goto(stack.url + "/")
    page.wait_for_url("**/auth/login**")
    page.fill("input[name=username]", stack.user)
    page.fill("input[name=password]", stack.password)
    page.click("button[type=submit]")
    page.wait_for_url(stack.url + "/")
    assert "_token" in {c["name"] for c in context.cookies()}
    yield context
    context.close()


@pytest.fixture(scope="module")
def dag_run(stack: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """A run of ``mavi_ui_run`` that just happened, plus a recorded job still waiting for its callback."""
    from airflow_provider_mavi.emulator.samples import make_sample_video
    from airflow_provider_mavi.hooks.bridge import MaviBridgeHook, TaskRef
    from airflow_provider_mavi.hooks.mavi import MaviHook

    work = tmp_path_factory.mktemp("ui_run")
    video = make_sample_video(work / "clip.mp4", seconds=3.0, width=160, height=120)
    stack.emulator.set_faults({"duplicate_callback": {"probability": 1, "copies": 2}})
    done = stack.airflow(
        "dags", "test", "mavi_ui_run", "-c", json.dumps({"video": str(video), "out": str(work)})
    )
    output = done.stdout + done.stderr
    for secret in stack.secrets:
        assert secret not in output
    assert done.returncode == 0, output[-4000:]
    jobs = {job["kind"]: job["job_id"] for job in stack.emulator.stats()["jobs"]}
    # the hook and a recorded job: its callback is dropped, so it waits on the page
    stack.emulator.set_faults({"drop_callback": {"next": 1}})
    hook = MaviHook(mavi_conn_id="mavi_default")
    hook_env = {k: v for k, v in stack.env.items() if k.startswith("AIRFLOW_CONN_")}
    with pytest.MonkeyPatch.context() as patch:
        for name, value in hook_env.items():
            patch.setenv(name, value)
        asset = hook.upload_file(str(video))
        hook.wait_for_asset_ready(asset, timeout=60, poll_interval=0.5)
        waiting = hook.transcribe_audio(asset)
        MaviBridgeHook.from_url(stack.bridge_url, stack.token).put_job(
            waiting,
            kind="transcribe_audio",
            asset_id=asset,
            task=TaskRef("mavi_ui_run", "manual__by_hook", "listen"),
            deadline=time.time() + 900,
        )
    stack.emulator.set_faults({})
    return {"frames": jobs["extract_frames"], "describe": jobs["transcribe_video"], "waiting": waiting}


def mavi_frame(page: Any) -> Any:
    """The frame of the Airflow UI that shows the bridge's page."""
    page.wait_for_selector("iframe")
    frame = page.frame_locator("iframe").first
    frame.locator("#health").wait_for()
    return frame


def test_the_mavi_page_shows_the_jobs_of_a_run_that_just_happened(
    stack: Any, session: Any, dag_run: dict[str, Any], artifacts: Path
) -> None:
    bridge = httpx.Client(base_url=stack.bridge_url, headers={"Authorization": f"Bearer {stack.token}"})
    costs = [bridge.get(f"/v1/jobs/{dag_run[k]}").json()["cost_usd"] for k in ("frames", "describe")]
    assert costs[0] == 0.03
    assert costs[1] is not None
    assert costs[1] > 0
    page = session.new_page()
    page.goto(stack.url + "/")
    page.get_by_role("link", name="Mavi").click()
    page.wait_for_url("**/plugin/mavi**")
    frame = mavi_frame(page)
    received = frame.locator("#received")
    for job in (dag_run["frames"], dag_run["describe"]):
        row = received.locator("tr", has_text=job)
        assert row.count() == 1
        assert "mavi_ui_run" in row.inner_text()
    assert (
        received.locator("tr", has_text=dag_run["frames"]).locator("td").nth(2).inner_text()
        == "extract_frames"
    )
    waiting = frame.locator("#waiting tr", has_text=dag_run["waiting"])
    assert "transcribe_audio" in waiting.inner_text()
    assert "listen" in waiting.inner_text()
    assert "in 14 min" in waiting.inner_text() or "in 15 min" in waiting.inner_text()
    by_dag = frame.locator("#spend-by-dag tr", has_text="mavi_ui_run").locator("td")
    assert by_dag.all_inner_texts() == ["mavi_ui_run", "3", "1", f"${sum(costs):,.4f}"]  # 1: still waiting
    assert "ok" in frame.locator("#health").inner_text()
    page.screenshot(path=str(artifacts / "mavi_page.png"))
    # the job page, one click away: the duplicated delivery is shown, with its payload
    frame.locator("#received a", has_text=dag_run["frames"]).click()
    frame.locator("#job-id").wait_for()
    assert frame.locator("#state").inner_text() == "delivered"
    assert "2 POST(s)" in frame.locator("#status").inner_text()
    assert "asset_ch_ids" in frame.locator("#deliveries pre").first.inner_text()
    assert frame.locator("#cost").inner_text() == "$0.0300"
    page.screenshot(path=str(artifacts / "job_page.png"))
    page.close()


def test_an_unclaimed_callback_appears_after_the_emulator_posts_it(
    stack: Any, session: Any, dag_run: dict[str, Any], artifacts: Path
) -> None:
    page = session.new_page()
    page.goto(stack.url + "/plugin/mavi")
    frame = mavi_frame(page)
    asset = stack.emulator.stats()["jobs"][0]["asset_id"]
    submitted = httpx.post(
        f"{stack.emulator.base_url}/video/extract-frames",
        json={"asset_id": asset},
        headers={"Authorization": stack.emulator.api_key},
        timeout=30,
    )
    assert submitted.status_code == 200, submitted.text
    job = submitted.json()["data"]["task_id"]
    row = frame.locator("#unclaimed tr", has_text=job)
    row.wait_for(timeout=30_000)  # the page refreshes itself every 5 s: no reload
    assert "extract_frames" in row.inner_text()  # the kind, read from the body's shape
    page.screenshot(path=str(artifacts / "mavi_page_unclaimed.png"))
    page.close()


def test_a_payload_is_shown_escaped_and_never_runs(stack: Any, session: Any, artifacts: Path) -> None:
    job = "xss-<b>job<i>&amp;"  # markup a job id can hold (never '/': the bridge refuses it as an id)
    posted = httpx.post(
        f"{stack.bridge_url}/callbacks/{stack.secret}",
        json={"task_id": job, "code": 200, "message": XSS, "data": {"note": XSS}},
        timeout=10,
    )
    assert posted.status_code == 200
    page = session.new_page()
    page.goto(f"{stack.bridge_url}/ui/jobs/{quote(job, safe='')}")
    page.locator("#deliveries pre").wait_for()
    assert XSS in page.locator("#deliveries pre").inner_text()  # shown as text
    assert page.locator("#job-id").inner_text() == job
    assert page.evaluate("window.__mavi_xss") is None  # and nothing of it ran
    page.goto(stack.bridge_url + "/ui/")
    page.locator("#unclaimed").wait_for()
    assert page.evaluate("window.__mavi_xss") is None
    page.close()


def test_an_anonymous_browser_is_refused(stack: Any, browser: Any, dag_run: dict[str, Any]) -> None:
    context = browser.new_context()
    page = context.new_page()
    for path in ("/mavi/ui/", f"/mavi/ui/jobs/{dag_run['frames']}"):
        answer = page.goto(stack.url + path)
        assert answer is not None
        assert answer.status == 401
        body = page.locator("body").inner_text()
        assert "Log in to Airflow" in body
        assert dag_run["frames"] not in body
        assert "mavi_ui_run" not in body
    page.get_by_role("link", name="Log in").click()
    page.wait_for_url("**/auth/login**")
    context.close()


def test_the_connection_form_of_the_mavi_type(stack: Any, session: Any, artifacts: Path) -> None:
    page = session.new_page()
    page.goto(stack.url + "/connections")
    page.get_by_role("button", name="Add Connection").click()
    page.fill("input[name=connection_id]", "mavi_from_the_form")
    kind = page.get_by_role("combobox")
    kind.click()
    kind.type("Mavi")
    page.get_by_role("option", name="Mavi", exact=True).click()
    dialog = page.get_by_role("dialog")
    for label in ("Base URL", "API Key"):
        assert dialog.get_by_text(label, exact=True).is_visible()
    for hidden in ("Login", "Port", "Schema"):
        assert dialog.get_by_text(hidden, exact=True).count() == 0
    assert page.locator("input[name=password]").get_attribute("type") == "password"
    page.fill("input[name=host]", stack.emulator.base_url)
    page.fill("input[name=password]", stack.emulator.api_key)
    dialog.get_by_role("button", name="Extra Fields", exact=True).click()
    token = page.locator("input[name=element_bridge_token]")
    assert token.get_attribute("type") == "password"  # the bridge token is a secret field
    page.fill("input[name=element_bridge_url]", stack.bridge_url)
    token.fill(stack.token)
    page.screenshot(path=str(artifacts / "connection_form.png"))
    dialog.get_by_role("button", name="Save").click()
    row = page.locator("tr", has_text="mavi_from_the_form")
    row.wait_for()

    # Airflow 3.3.2's list sends ``port: 0`` for a connection without a port, which its own API then
    # refuses ("The host or port to test differs..."); the port is dropped here so the click reaches the
    # hook's test_connection, as it does for a connection with a port.
    def without_port_zero(route: Any) -> None:
        body = json.loads(route.request.post_data or "{}")
        if body.get("port") == 0:
            body.pop("port")
        route.continue_(post_data=json.dumps(body))

    page.route("**/api/v2/connections/test", without_port_zero)
    with page.expect_response("**/api/v2/connections/test") as tested:
        row.get_by_role("button", name="Test Connection").click()
    assert tested.value.status == 200, tested.value.text()
    assert tested.value.json() == {"status": True, "message": "Connection OK: Mavi accepted the API key."}
    toast = page.get_by_text("Connection OK: Mavi accepted the API key.")
    toast.hover()  # waits until the toast stops sliding in, and keeps it open for the screenshot
    page.screenshot(path=str(artifacts / "connection_test.png"))
    page.close()


def test_in_airflow_the_pages_take_an_airflow_jwt_or_the_bridge_token(
    stack: Any, dag_run: dict[str, Any]
) -> None:
    login = httpx.post(
        f"{stack.url}/auth/token", json={"username": stack.user, "password": stack.password}, timeout=30
    )
    jwt = login.json()["access_token"]
    page = f"{stack.bridge_url}/ui/jobs/{dag_run['frames']}"
    for credential, status in ((jwt, 200), (stack.token, 200), (jwt[:-4] + "AAAA", 401), ("nobody", 401)):
        answer = httpx.get(page, headers={"Authorization": f"Bearer {credential}"}, timeout=30)
        assert answer.status_code == status
        assert ('id="deliveries"' in answer.text) == (status == 200)  # data only for the logged in
        assert ("asset_ch_ids" in answer.text) == (status == 200)
    assert httpx.get(page, cookies={"_token": jwt}, timeout=30).status_code == 200
    assert httpx.get(page, cookies={"_token": "forged"}, timeout=30).status_code == 401
