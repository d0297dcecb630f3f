"""Operating the bridge: relay, source allow-list, secrets kept out of logs, and the mavi-bridge CLI."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from airflow_provider_mavi.bridge.store import open_store
from airflow_provider_mavi.bridge.testing import BridgeServer, PostgresServer, free_port


def cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("MAVI_BRIDGE_")}
    return subprocess.run(
        [sys.executable, "-m", "airflow_provider_mavi.bridge.cli", *args],
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_relay_forwards_new_callbacks_after_answering(tmp_path) -> None:
    with BridgeServer(db_url=f"sqlite:///{tmp_path / 'b.sqlite3'}") as downstream:
        relays = [downstream.callback_url, "http://127.0.0.1:9/dead"]
        with BridgeServer(db_url=f"sqlite:///{tmp_path / 'a.sqlite3'}", relay_urls=relays) as bridge:
            job = uuid.uuid4().hex
            body = {"task_id": job, "code": 200, "data": {"asset_id": "im_7"}}
            assert httpx.post(bridge.callback_url, json=body).status_code == 200
            assert httpx.post(bridge.callback_url, json=body).json()["duplicate"] is True
            relayed = httpx.get(
                f"{downstream.url}/v1/callbacks/{job}",
                params={"wait": 20},
                headers=downstream.headers,
                timeout=30,
            )
            assert relayed.status_code == 200
            assert relayed.json()["payload"] == body
            time.sleep(0.5)
            assert relayed.json()["deliveries"] == 1  # a duplicate is not relayed again
            log = bridge.output()
            assert downstream.secret not in log
            assert "relay to http://127.0.0.1:9 failed" in log


def test_allow_list_refuses_other_sources(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    with BridgeServer(db_url=db, allowed_networks=["10.0.0.0/8", "192.168.0.0/16"]) as bridge:
        answer = httpx.post(bridge.callback_url, json={"task_id": "j-net"})
        assert answer.status_code == 403
        assert answer.json() == {"detail": "source address not allowed"}
        assert "callback refused (403, network) from 127.0.0.1" in bridge.output()
        store = open_store(db)
        assert store.get_callbacks(["j-net"]) == []
        store.close()
        # the read API is not subject to the allow-list (it has the token)
        assert httpx.get(f"{bridge.url}/v1/callbacks/j-net", headers=bridge.headers).status_code == 404
    with BridgeServer(db_url=db, allowed_networks=["127.0.0.0/8"]) as bridge:
        assert httpx.post(bridge.callback_url, json={"task_id": "j-net"}).status_code == 200


def test_secret_and_token_never_in_logs(tmp_path) -> None:
    with BridgeServer(
        db_url=f"sqlite:///{tmp_path / 'b.sqlite3'}", access_log=True, log_level="debug"
    ) as bridge:
        job = uuid.uuid4().hex
        httpx.post(bridge.callback_url, json={"task_id": job})
        httpx.post(bridge.callback_url, json={"task_id": job})
        httpx.post(bridge.callback_url, content=b"not json")
        httpx.post(bridge.callback_url + "/", json={"task_id": job})
        httpx.post(f"{bridge.url}/callbacks/{bridge.token}", json={"task_id": job})  # token as a wrong secret
        httpx.post(bridge.callback_url, content=b"x" * 2_000_000)
        httpx.get(f"{bridge.url}/v1/callbacks/{job}", headers=bridge.headers)
        httpx.get(f"{bridge.url}/v1/callbacks/{job}", headers={"Authorization": f"Bearer {bridge.secret}"})
        httpx.get(f"{bridge.url}/v1/callbacks/{job}", params={"token": bridge.token})
        bridge.kill()  # the log of a killed bridge, too
        bridge.start()
        httpx.post(bridge.callback_url, json={"task_id": job})
        log = bridge.output()
    assert bridge.secret not in log
    assert bridge.token not in log
    assert bridge.secret[:12] not in log
    assert '"POST /callbacks/*** HTTP/1.1" 200' in log  # the access log is on, and redacted
    assert "callback refused (400, not_json) from 127.0.0.1" in log
    assert "callback refused (413, too_large) from 127.0.0.1" in log


def test_serve_refuses_without_secret_or_token(tmp_path) -> None:
    db = {"MAVI_BRIDGE_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}"}
    nothing = cli("serve", "--port", "0", env=db)
    assert nothing.returncode == 2
    assert "MAVI_BRIDGE_CALLBACK_SECRET is not set" in nothing.stderr
    assert 'python -c "import secrets; print(secrets.token_urlsafe(32))"' in nothing.stderr
    no_token = cli("serve", env={**db, "MAVI_BRIDGE_CALLBACK_SECRET": "s" * 40})
    assert no_token.returncode == 2
    assert "MAVI_BRIDGE_API_TOKEN is not set" in no_token.stderr
    short = cli(
        "serve", env={**db, "MAVI_BRIDGE_CALLBACK_SECRET": "short", "MAVI_BRIDGE_API_TOKEN": "t" * 40}
    )
    assert short.returncode == 2
    assert "MAVI_BRIDGE_CALLBACK_SECRET is too short" in short.stderr
    assert "short" not in short.stderr.replace("too short", "")
    same = cli(
        "serve", env={**db, "MAVI_BRIDGE_CALLBACK_SECRET": "x" * 40, "MAVI_BRIDGE_API_TOKEN": "x" * 40}
    )
    assert same.returncode == 2
    assert "must differ" in same.stderr
    assert "x" * 40 not in same.stderr


def test_url_prints_the_callback_url(tmp_path) -> None:
    secrets = {"MAVI_BRIDGE_CALLBACK_SECRET": "S" * 32, "MAVI_BRIDGE_API_TOKEN": "T" * 32}
    shown = cli("url", env={**secrets, "MAVI_BRIDGE_PUBLIC_URL": "https://bridge.example.com/"})
    assert shown.returncode == 0
    assert shown.stdout.strip() == "https://bridge.example.com/callbacks/" + "S" * 32
    assert "Keep it private" in shown.stderr
    flag = cli("url", "--public-url", "https://airflow.example.com/mavi", env=secrets)
    assert flag.stdout.strip() == "https://airflow.example.com/mavi/callbacks/" + "S" * 32
    missing = cli("url", env=secrets)
    assert missing.returncode == 2
    assert "MAVI_BRIDGE_PUBLIC_URL" in missing.stderr


def test_show_and_purge(tmp_path) -> None:
    db = f"sqlite:///{tmp_path / 'b.sqlite3'}"
    with BridgeServer(db_url=db) as bridge:
        job = uuid.uuid4().hex
        httpx.post(bridge.callback_url, json={"task_id": job, "code": 200})
        httpx.post(bridge.callback_url, json={"task_id": job, "code": 500})
        httpx.put(
            f"{bridge.url}/v1/jobs/{job}",
            json={"kind": "extract_frames", "asset_id": "re_1"},
            headers=bridge.headers,
        )
    shown = cli("show", job, "--db-url", db)
    assert shown.returncode == 0
    found = json.loads(shown.stdout)
    assert found["callback"]["payload"] == {"task_id": job, "code": 200}
    assert found["callback"]["deliveries"] == 2
    assert [d["payload"]["code"] for d in found["deliveries"]] == [200, 500]
    assert found["job"]["state"] == "delivered"
    unknown = cli("show", "no-such-job", "--db-url", db)
    assert unknown.returncode == 1
    assert "nothing stored for job no-such-job" in unknown.stderr

    kept = cli("purge", "--older-than", "30d", "--db-url", db)
    assert kept.stdout.strip() == "purged 0 callbacks, 0 deliveries and 0 jobs older than 30d"
    time.sleep(1.1)
    purged = cli("purge", "--older-than", "1s", "--db-url", db)
    assert purged.stdout.strip() == "purged 1 callbacks, 2 deliveries and 1 jobs older than 1s"
    assert cli("show", job, "--db-url", db).returncode == 1
    bad = cli("purge", "--older-than", "soon", "--db-url", db)
    assert bad.returncode == 2
    assert "'soon' is not a duration" in bad.stderr


@pytest.mark.postgres
def test_show_reads_postgres(postgres) -> None:
    url = postgres.create_database()
    with BridgeServer(db_url=url) as bridge:
        httpx.post(bridge.callback_url, json={"task_id": "pg-job"})
    shown = cli("show", "pg-job", "--db-url", url)
    assert json.loads(shown.stdout)["callback"]["job_id"] == "pg-job"


def test_console_script_serves_on_host_and_port(tmp_path) -> None:
    """`mavi-bridge serve --host --port` as the README shows it; SIGTERM stops it cleanly."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith("MAVI_BRIDGE_")},
        "MAVI_BRIDGE_CALLBACK_SECRET": "c" * 32,
        "MAVI_BRIDGE_API_TOKEN": "t" * 32,
        "MAVI_BRIDGE_DB_URL": f"sqlite:///{tmp_path / 'b.sqlite3'}",
    }
    script = str(Path(sys.executable).with_name("mavi-bridge"))
    server = subprocess.Popen(
        [script, "serve", "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(0.1)
        answer = httpx.post(f"http://127.0.0.1:{port}/callbacks/{'c' * 32}", json={"task_id": "cli-job"})
        assert answer.status_code == 200
    finally:
        server.terminate()
        output = server.communicate(timeout=30)[0].decode()
    assert server.returncode in (0, -signal.SIGTERM)  # uvicorn re-raises the signal after a clean shutdown
    assert "Application shutdown complete" in output
    assert f"serving on http://127.0.0.1:{port}" in output
    assert "c" * 32 not in output


@pytest.mark.postgres
def test_store_down_gives_503_and_a_clear_log_line(postgres: PostgresServer) -> None:
    pg = PostgresServer().start()
    url = pg.create_database(driver="psycopg2")
    with BridgeServer(db_url=url) as bridge:
        assert httpx.get(f"{bridge.url}/healthz").status_code == 200
        pg.stop()  # the database goes away under a running bridge
        health = httpx.get(f"{bridge.url}/healthz", timeout=30)
        assert health.status_code == 503
        assert health.json() == {"status": "error", "store": "unreachable"}
        answer = httpx.post(bridge.callback_url, json={"task_id": "lost-db"}, timeout=30)
        assert answer.status_code == 503  # Mavi sees a failure and may retry: nothing was acknowledged
        assert answer.json() == {"detail": "store unavailable, retry later"}
        log = bridge.output()
    assert "could not store callback for job lost-db from 127.0.0.1" in log
    assert "Traceback" not in log
    assert bridge.secret not in log
