"""scripts/system/create-bridge-db.sh (the compose stack's ``mavi-bridge-db-init``) on a real PostgreSQL.

It must create the bridge's own role and database on Airflow's server, be safe to run again, refuse to run
without a password (creating nothing), and leave a database the bridge can start on as that role.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import pytest

from airflow_provider_mavi.bridge.testing import BridgeServer, PostgresServer, find_postgres_bin

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "system" / "create-bridge-db.sh"

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        find_postgres_bin() is None, reason="PostgreSQL is not installed (scripts/system-deps.sh)"
    ),
]


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A throwaway PostgreSQL server standing in for the compose stack's ``postgres`` service."""
    with PostgresServer() as server:
        yield server


def run_script(postgres: PostgresServer, **variables: str) -> subprocess.CompletedProcess[str]:
    """Run the script as the compose service does: libpq variables (admin), MAVI_BRIDGE_DB_* (what to create).

    :param postgres: the server.
    :param variables: the MAVI_BRIDGE_DB_* variables.
    """
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("PG", "MAVI_BRIDGE_DB_"))},
        "PGHOST": "127.0.0.1",
        "PGPORT": str(postgres.port),
        "PGUSER": "postgres",
        "PGDATABASE": "postgres",
        **variables,
    }
    return subprocess.run(
        ["bash", str(SCRIPT)], env=env, capture_output=True, text=True, timeout=60, check=False
    )


def roles_and_databases(postgres: PostgresServer) -> tuple[set[str], dict[str, str]]:
    """The server's login roles, and its databases with their owners.

    :param postgres: the server.
    """
    conn = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="postgres", dbname="postgres")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT rolname FROM pg_roles WHERE rolcanlogin")
            roles = {row[0] for row in cursor.fetchall()}
            cursor.execute("SELECT datname, pg_get_userbyid(datdba) FROM pg_database WHERE NOT datistemplate")
            databases = {row[0]: row[1] for row in cursor.fetchall()}
    finally:
        conn.close()
    return roles, databases


def test_without_a_password_it_stops_and_creates_nothing(postgres: PostgresServer) -> None:
    before = roles_and_databases(postgres)
    done = run_script(postgres, MAVI_BRIDGE_DB_NAME="nopw_db", MAVI_BRIDGE_DB_USER="nopw_user")
    assert done.returncode == 2
    assert "MAVI_BRIDGE_DB_PASSWORD is not set" in done.stderr
    assert roles_and_databases(postgres) == before


def test_creates_the_role_and_database_once_and_the_bridge_runs_on_it(postgres: PostgresServer) -> None:
    names = {"MAVI_BRIDGE_DB_NAME": "mavi_bridge", "MAVI_BRIDGE_DB_USER": "mavi_bridge"}
    password = "first-password-0123456789"
    first = run_script(postgres, MAVI_BRIDGE_DB_PASSWORD=password, **names)
    assert first.returncode == 0, first.stderr
    assert password not in first.stdout + first.stderr, "the script must never print the password"
    roles, databases = roles_and_databases(postgres)
    assert "mavi_bridge" in roles
    assert databases["mavi_bridge"] == "mavi_bridge"

    # Again, with a new password (compose runs it at every `up`): no error, nothing duplicated.
    again = run_script(postgres, MAVI_BRIDGE_DB_PASSWORD="second-password-0123456789", **names)
    assert again.returncode == 0, again.stderr
    assert roles_and_databases(postgres) == (roles, databases)

    # The bridge starts on its own database as its own role and creates its tables there.
    url = f"postgresql+psycopg2://mavi_bridge@127.0.0.1:{postgres.port}/mavi_bridge"
    with BridgeServer(db_url=url) as bridge:
        assert bridge.url
    conn = psycopg2.connect(host="127.0.0.1", port=postgres.port, user="mavi_bridge", dbname="mavi_bridge")
    try:
        with conn.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_tables WHERE tableowner = 'mavi_bridge'")
            (tables,) = cursor.fetchone()
    finally:
        conn.close()
    assert tables > 0, "the bridge created its tables in its own database, owned by its role"


def test_a_hostile_name_is_quoted_not_executed(postgres: PostgresServer) -> None:
    hostile = 'x"; DROP DATABASE postgres; --'
    done = run_script(
        postgres, MAVI_BRIDGE_DB_PASSWORD="pw'; DROP ROLE postgres; --", MAVI_BRIDGE_DB_NAME=hostile,
        MAVI_BRIDGE_DB_USER="odd_user",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    roles, databases = roles_and_databases(postgres)
    assert databases[hostile] == "odd_user"
    assert "postgres" in databases
    assert "postgres" in roles
