#!/usr/bin/env bash
# Creates the bridge's own role and database on the PostgreSQL server that Airflow uses, when missing, and
# (re)sets the role's password. Safe to run again. Used by docker-compose.yaml (service mavi-bridge-db-init)
# and by scripts/system-test.sh, so the native run proves what the compose stack does.
#
# Admin connection: the standard libpq variables (PGHOST, PGPORT, PGUSER, PGPASSWORD, PGDATABASE).
# What to create:   MAVI_BRIDGE_DB_NAME (default mavi_bridge), MAVI_BRIDGE_DB_USER (default mavi_bridge),
#                   MAVI_BRIDGE_DB_PASSWORD (required; read by psql from the environment, never echoed and
#                   never on a command line).
set -euo pipefail

export MAVI_BRIDGE_DB_NAME="${MAVI_BRIDGE_DB_NAME:-mavi_bridge}"
export MAVI_BRIDGE_DB_USER="${MAVI_BRIDGE_DB_USER:-mavi_bridge}"
if [ -z "${MAVI_BRIDGE_DB_PASSWORD:-}" ]; then
    echo "create-bridge-db: MAVI_BRIDGE_DB_PASSWORD is not set" >&2
    exit 2
fi

psql -X -q -v ON_ERROR_STOP=1 --dbname "${PGDATABASE:-postgres}" <<'SQL'
\getenv bridge_db MAVI_BRIDGE_DB_NAME
\getenv bridge_user MAVI_BRIDGE_DB_USER
\getenv bridge_password MAVI_BRIDGE_DB_PASSWORD
SELECT format('CREATE ROLE %I LOGIN', :'bridge_user')
 WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = :'bridge_user') \gexec
SELECT format('ALTER ROLE %I PASSWORD %L', :'bridge_user', :'bridge_password') \gexec
SELECT format('CREATE DATABASE %I OWNER %I', :'bridge_db', :'bridge_user')
 WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = :'bridge_db') \gexec
SQL
echo "create-bridge-db: database ${MAVI_BRIDGE_DB_NAME} owned by ${MAVI_BRIDGE_DB_USER} is ready"
