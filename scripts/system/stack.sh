# The native stack of docker-compose.yaml, as functions: sourced by scripts/system-test.sh (the system test)
# and scripts/system/bench-backfill.sh (one episode of bench/bench_backfill.py). No Docker engine needed:
# PostgreSQL and Redis from Debian's packages on free loopback ports, Airflow with the CeleryExecutor as
# separate processes (api-server, scheduler, dag-processor, triggerer, two Celery workers), the bridge on
# PostgreSQL in its own database, and the emulator standing in for Mavi. Everything started is stopped on
# exit, also on failure, by process group id.
#
#   stack_init LABEL RUN_DIR BUDGET   folders, watchdog (BUDGET seconds for the whole run), cleanup trap;
#                                     the console output is kept in RUN_DIR/logs/console.log too
#   stack_start_stores                PostgreSQL (Airflow's database, the bridge's) and Redis
#   stack_start_mavi                  the bridge and the emulator (--qps STACK_EMULATOR_QPS), webhook set
#   stack_start_airflow DAG_FILE...   Airflow configured by environment, the pool, every process, healthy
#   stack_driver_env                  exports the SYSTEM_* settings scripts/system/drive.py reads
#   stack_check_no_secret             fails when a secret of the run appears in any log
#   start NAME CMD..., crash NAME, interruptible CMD..., check_alive, say, fail
#
# Settings read by the functions (set them before calling):
#   STACK_EMULATOR_QPS        requests per endpoint per second the emulator allows (default 1)
#   STACK_CONN_EXTRAS         JSON object merged into the mavi_default connection's extras (default
#                             {"max_requests_per_second": 1}); the strings {redis_url} and {postgres_url}
#                             in it are replaced by this run's Redis (database 1) and PostgreSQL (the
#                             bridge's database) URLs
#   STACK_POOL_SLOTS          slots of the pool mavi_api (default 1)
#   STACK_WORKER_CONCURRENCY  task slots of each of the two Celery workers (default 2)
# Variables MAVI_BACKFILL_* in the environment reach every Airflow process (the backfill DAG reads them).
# Needs root (or sudo) the first time, to install postgresql and redis-server.

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
BIN="$STACK_ROOT/.venv/bin"
DRIVE=("$BIN/python" "$STACK_ROOT/scripts/system/drive.py")
PIDS=()
NAMES=()
SECRETS=()
WATCHDOG=""
FG=""
PG_DIR=""

say() { echo "$STACK_LABEL: $*"; }
fail() { echo "$STACK_LABEL: FAILED: $*" >&2; exit 1; }

# Masks every secret of this run in what the failure report shows (hex or base64: safe in a sed pattern).
redact() {
    local args=() s
    for s in "${SECRETS[@]}"; do [ -n "$s" ] && args+=(-e "s|$s|***|g"); done
    if [ ${#args[@]} -gt 0 ]; then sed "${args[@]}"; else cat; fi
}

stack_cleanup() {
    local rc=$?
    trap - EXIT INT TERM
    [ -n "$WATCHDOG" ] && kill -- "-$WATCHDOG" 2>/dev/null || true
    [ -n "${FG:-}" ] && kill -TERM -- "-$FG" 2>/dev/null || true
    local i pid
    for i in $(printf '%s\n' "${!PIDS[@]}" | sort -rn); do
        kill -TERM -- "-${PIDS[$i]}" 2>/dev/null || true
    done
    for _ in $(seq 1 20); do
        local alive=0
        for pid in "${PIDS[@]}"; do kill -0 -- "-$pid" 2>/dev/null && alive=1; done
        [ $alive = 0 ] && break
        sleep 0.5
    done
    for pid in "${PIDS[@]}"; do kill -KILL -- "-$pid" 2>/dev/null || true; done
    if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/data/postmaster.pid" ]; then
        as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -m fast -w stop >/dev/null 2>&1 || true
    fi
    if [ -n "$PG_DIR" ] && [ -f "$PG_DIR/postgres.log" ]; then
        cp "$PG_DIR/postgres.log" "$LOGS/postgres.log" 2>/dev/null || true
    fi
    [ -n "$PG_DIR" ] && rm -rf "$PG_DIR"
    if [ $rc -ne 0 ]; then
        echo "$STACK_LABEL: FAILED (exit $rc) after $(($(date +%s) - STARTED_AT))s; last lines of each log:" >&2
        local log
        for log in "$LOGS"/*.log; do
            [ -f "$log" ] || continue
            [ "$(basename "$log")" = console.log ] && continue
            echo "----- ${log#"$STACK_ROOT"/} -----" >&2
            tail -n 15 "$log" | redact >&2
        done
    else
        say "stopped everything it started; logs in ${LOGS#"$STACK_ROOT"/}/"
    fi
    exit $rc
}

# stack_init LABEL RUN_DIR BUDGET
stack_init() {
    STACK_LABEL=$1
    RUN=$2
    local budget=$3
    LOGS="$RUN/logs"
    STARTED_AT=$(date +%s)
    [ -x "$BIN/python" ] || fail "no .venv: run 'make venv' first"
    bash "$STACK_ROOT/scripts/system-deps.sh"
    PG_BIN=$(dirname "$(compgen -G '/usr/lib/postgresql/*/bin/initdb' | sort -V | tail -1)")
    [ -x "$PG_BIN/pg_ctl" ] || fail "PostgreSQL server binaries not found under /usr/lib/postgresql"
    rm -rf "$RUN"
    mkdir -p "$LOGS" "$RUN/airflow" "$RUN/data" "$RUN/redis"
    # What this run prints lands in console.log as well, so the secret scan covers it.
    exec > >(tee -a "$LOGS/console.log") 2>&1
    PG_DIR=$(mktemp -d /tmp/mavi-system-pg.XXXXXX)
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$PG_DIR"
        as_pg() { runuser -u postgres -- "$@"; }
    else
        as_pg() { "$@"; }
    fi
    trap stack_cleanup EXIT
    trap 'exit 130' INT
    trap 'exit 143' TERM
    # The whole run is bounded: past the budget the watchdog stops us (the trap then cleans up).
    setsid bash -c "sleep $budget; echo '$STACK_LABEL: budget of ${budget}s exceeded, stopping' >&2; kill -TERM $$" &
    WATCHDOG=$!
    read -r PG_PORT REDIS_PORT API_PORT BRIDGE_PORT EMU_PORT WORKER_LOG_PORT WORKER2_LOG_PORT \
        TRIGGER_LOG_PORT SCHED_HEALTH_PORT < <("${DRIVE[@]}" ports 9)
}

# start NAME CMD...: runs CMD in its own process group (so cleanup stops its children too), logging to
# RUN_DIR/logs/NAME.log.
start() {
    local name=$1
    shift
    setsid "$@" >"$LOGS/$name.log" 2>&1 &
    PIDS+=($!)
    NAMES+=("$name")
}

# interruptible CMD...: runs CMD in the foreground but lets a signal (the watchdog's, Ctrl-C) through at once:
# bash runs traps only between commands, and `wait` is the one that a trapped signal interrupts.
interruptible() {
    local rc=0
    setsid "$@" &
    FG=$!
    wait "$FG" || rc=$?
    FG=""
    return $rc
}

# crash NAME: kills a started process and its children at once (SIGKILL: no clean shutdown, like a lost host).
crash() {
    local i
    for i in "${!NAMES[@]}"; do
        if [ "${NAMES[$i]}" = "$1" ]; then
            kill -KILL -- "-${PIDS[$i]}" 2>/dev/null || true
            wait "${PIDS[$i]}" 2>/dev/null || true
            unset 'PIDS[i]' 'NAMES[i]'
        fi
    done
}

# Fails as soon as one of the started processes has died, naming it.
check_alive() {
    local i
    for i in "${!PIDS[@]}"; do
        kill -0 "${PIDS[$i]}" 2>/dev/null || fail "${NAMES[$i]} died (see ${LOGS#"$STACK_ROOT"/}/${NAMES[$i]}.log)"
    done
}

secret() { "$BIN/python" -c 'import secrets; print(secrets.token_hex(24))'; }

stack_start_stores() {
    PG_SUPER_PASSWORD=$(secret)
    AIRFLOW_DB_PASSWORD=$(secret)
    BRIDGE_DB_PASSWORD=$(secret)
    SECRETS+=("$PG_SUPER_PASSWORD" "$AIRFLOW_DB_PASSWORD" "$BRIDGE_DB_PASSWORD")
    umask 077
    printf '%s\n' "$PG_SUPER_PASSWORD" >"$PG_DIR/pwfile"
    umask 022
    [ "$(id -u)" -eq 0 ] && chown postgres: "$PG_DIR/pwfile"
    as_pg "$PG_BIN/initdb" -D "$PG_DIR/data" -U postgres --pwfile="$PG_DIR/pwfile" \
        --auth-local=trust --auth-host=scram-sha-256 >"$LOGS/postgres-initdb.log" 2>&1
    rm -f "$PG_DIR/pwfile"
    as_pg "$PG_BIN/pg_ctl" -D "$PG_DIR/data" -l "$PG_DIR/postgres.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $PG_PORT -k $PG_DIR -c max_connections=200" start >/dev/null
    say "PostgreSQL $("$PG_BIN/postgres" --version | awk '{print $3}') on 127.0.0.1:$PG_PORT"

    # Airflow's own role and database, then the bridge's (with the same script the compose stack uses).
    PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD=$PG_SUPER_PASSWORD \
        AIRFLOW_DB_PASSWORD=$AIRFLOW_DB_PASSWORD psql -X -q -v ON_ERROR_STOP=1 --dbname postgres <<'SQL'
\getenv airflow_password AIRFLOW_DB_PASSWORD
SELECT format('CREATE ROLE airflow LOGIN PASSWORD %L', :'airflow_password') \gexec
CREATE DATABASE airflow OWNER airflow;
SQL
    PGHOST=127.0.0.1 PGPORT=$PG_PORT PGUSER=postgres PGPASSWORD=$PG_SUPER_PASSWORD \
        MAVI_BRIDGE_DB_NAME=mavi_bridge MAVI_BRIDGE_DB_USER=mavi_bridge \
        MAVI_BRIDGE_DB_PASSWORD=$BRIDGE_DB_PASSWORD \
        bash "$STACK_ROOT/scripts/system/create-bridge-db.sh"

    start redis redis-server --bind 127.0.0.1 --port "$REDIS_PORT" --save '' --appendonly no --dir "$RUN/redis"
    say "Redis on 127.0.0.1:$REDIS_PORT"
}

stack_start_mavi() {
    CALLBACK_SECRET=$(secret)
    BRIDGE_TOKEN=$(secret)
    MAVI_KEY="sk-system-$(secret)"
    SECRETS+=("$CALLBACK_SECRET" "$BRIDGE_TOKEN" "$MAVI_KEY")
    BRIDGE_URL="http://127.0.0.1:$BRIDGE_PORT"
    EMU_URL="http://127.0.0.1:$EMU_PORT"
    local qps=${STACK_EMULATOR_QPS:-1}
    MAVI_BRIDGE_DB_URL="postgresql+psycopg2://mavi_bridge:$BRIDGE_DB_PASSWORD@127.0.0.1:$PG_PORT/mavi_bridge" \
    MAVI_BRIDGE_CALLBACK_SECRET=$CALLBACK_SECRET MAVI_BRIDGE_API_TOKEN=$BRIDGE_TOKEN \
        start mavi-bridge "$BIN/mavi-bridge" serve --host 127.0.0.1 --port "$BRIDGE_PORT"
    MAVI_EMULATOR_API_KEY=$MAVI_KEY \
        start mavi-emulator "$BIN/mavi-emulator" serve --host 127.0.0.1 --port "$EMU_PORT" \
        --data-dir "$RUN/emulator" --qps "$qps"
    interruptible "${DRIVE[@]}" wait-http "$BRIDGE_URL/healthz" --timeout 60 \
        || { check_alive; fail "the bridge did not become healthy"; }
    say "mavi-bridge on $BRIDGE_URL (PostgreSQL database mavi_bridge), healthy"
    interruptible "${DRIVE[@]}" wait-http "$EMU_URL/_emulator/healthz" --timeout 60 \
        || { check_alive; fail "the emulator did not come up"; }
    # The account-wide webhook, as one registers it in the Mavi console: the bridge's callback URL.
    SYSTEM_EMULATOR_ADMIN="$EMU_URL/_emulator" SYSTEM_MAVI_KEY=$MAVI_KEY \
        SYSTEM_WEBHOOK_URL="$BRIDGE_URL/callbacks/$CALLBACK_SECRET" \
        "${DRIVE[@]}" set-webhook || fail "could not set the emulator's webhook"
    say "mavi-emulator on $EMU_URL ($qps request(s) per second per endpoint), webhook set to the bridge"
}

# The mavi_default connection, the way docker-compose.yaml sets it: from the environment.
stack_connection() {
    K=$MAVI_KEY T=$BRIDGE_TOKEN EXTRAS=${STACK_CONN_EXTRAS:-'{"max_requests_per_second": 1}'} \
        REDIS_URL="redis://127.0.0.1:$REDIS_PORT/1" \
        PG_URL="postgresql://mavi_bridge:$BRIDGE_DB_PASSWORD@127.0.0.1:$PG_PORT/mavi_bridge" \
        "$BIN/python" - "$EMU_URL/serve/api/v2" "$BRIDGE_URL" <<'PY'
import json, os, sys
base_url, bridge_url = sys.argv[1:]
extra = {"bridge_url": bridge_url, "bridge_token": os.environ["T"]}
for key, value in json.loads(os.environ["EXTRAS"]).items():
    if isinstance(value, str):
        value = value.replace("{redis_url}", os.environ["REDIS_URL"])
        value = value.replace("{postgres_url}", os.environ["PG_URL"])
    extra[key] = value
print(json.dumps({"conn_type": "mavi", "host": base_url, "password": os.environ["K"], "extra": extra}))
PY
}

# stack_start_airflow DAG_FILE...: the DAG files are copied into the run's DAG folder.
stack_start_airflow() {
    local dags="$RUN/dags"
    mkdir -p "$dags"
    cp "$@" "$dags"/
    ADMIN_PASSWORD=$(secret)
    SECRETS+=("$ADMIN_PASSWORD")
    # Set when stack_start_mavi did not run (the smoke test): the connection still parses.
    : "${MAVI_KEY:=sk-system-unused}" "${BRIDGE_TOKEN:=unused}" "${EMU_URL:=http://127.0.0.1:$EMU_PORT}"
    : "${BRIDGE_URL:=http://127.0.0.1:$BRIDGE_PORT}"

    export AIRFLOW_HOME="$RUN/airflow"
    export AIRFLOW__CORE__EXECUTOR=CeleryExecutor
    export AIRFLOW__CORE__DAGS_FOLDER="$dags"
    export AIRFLOW__CORE__LOAD_EXAMPLES=False
    export AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION=True
    export AIRFLOW__CORE__FERNET_KEY
    AIRFLOW__CORE__FERNET_KEY=$("$BIN/python" -c \
        'from cryptography.fernet import Fernet; print(Fernet.generate_key().decode())')
    export AIRFLOW__CORE__EXECUTION_API_SERVER_URL="http://127.0.0.1:$API_PORT/execution/"
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS="admin:admin"
    export AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE="$AIRFLOW_HOME/simple_auth_manager_passwords.json"
    export AIRFLOW__API_AUTH__JWT_SECRET
    AIRFLOW__API_AUTH__JWT_SECRET=$(secret)$(secret)  # 96 characters: HMAC-SHA512 wants 64 bytes or more
    SECRETS+=("$AIRFLOW__CORE__FERNET_KEY" "$AIRFLOW__API_AUTH__JWT_SECRET")
    export AIRFLOW__API__BASE_URL="http://127.0.0.1:$API_PORT"
    local airflow_db="airflow:$AIRFLOW_DB_PASSWORD@127.0.0.1:$PG_PORT/airflow"
    export AIRFLOW__DATABASE__SQL_ALCHEMY_CONN="postgresql+psycopg2://$airflow_db"
    export AIRFLOW__CELERY__BROKER_URL="redis://127.0.0.1:$REDIS_PORT/0"
    export AIRFLOW__CELERY__RESULT_BACKEND="db+postgresql://$airflow_db"
    export AIRFLOW__CELERY__WORKER_CONCURRENCY=${STACK_WORKER_CONCURRENCY:-2}
    export AIRFLOW__CELERY_BROKER_TRANSPORT_OPTIONS__VISIBILITY_TIMEOUT=21600
    export AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$WORKER_LOG_PORT
    export AIRFLOW__LOGGING__TRIGGER_LOG_SERVER_PORT=$TRIGGER_LOG_PORT
    export AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK=True
    export AIRFLOW__SCHEDULER__SCHEDULER_HEALTH_CHECK_SERVER_PORT=$SCHED_HEALTH_PORT
    export AIRFLOW__DAG_PROCESSOR__REFRESH_INTERVAL=5
    # A triggerer silent for 15 s is dead: another takes its triggers over (the crash test needs it).
    export AIRFLOW__TRIGGERER__TRIGGERER_HEALTH_CHECK_THRESHOLD=15
    # One rate-limit bucket for every worker and triggerer process, as the compose stack's shared volume gives.
    export MAVI_RATE_LIMIT_DIR="$RUN/rate-limit"
    mkdir -p "$MAVI_RATE_LIMIT_DIR"
    export AIRFLOW_CONN_MAVI_DEFAULT
    AIRFLOW_CONN_MAVI_DEFAULT=$(stack_connection) || fail "STACK_CONN_EXTRAS is not a JSON object"
    umask 077
    P="$ADMIN_PASSWORD" "$BIN/python" -c 'import json, os; print(json.dumps({"admin": os.environ["P"]}))' \
        >"$AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"
    umask 022

    say "airflow db migrate (PostgreSQL)"
    interruptible "$BIN/airflow" db migrate >"$LOGS/airflow-db-migrate.log" 2>&1 \
        || fail "airflow db migrate failed"
    # The pool the backfill DAG's Mavi tasks run in (as airflow-init creates it): it bounds the Mavi tasks
    # on workers at once; the hook's rate limiter keeps the requests per second.
    local slots=${STACK_POOL_SLOTS:-1}
    interruptible "$BIN/airflow" pools set mavi_api "$slots" "Mavi tasks on workers at once" \
        >"$LOGS/airflow-pools.log" 2>&1 \
        || fail "could not create the mavi_api pool"

    start api-server "$BIN/airflow" api-server --host 127.0.0.1 --port "$API_PORT" --workers 1
    start scheduler "$BIN/airflow" scheduler
    start dag-processor "$BIN/airflow" dag-processor
    start triggerer "$BIN/airflow" triggerer
    # Two Celery workers, as on two hosts: each with its own name and log server port.
    start celery-worker-1 "$BIN/airflow" celery worker --celery-hostname "worker-1@%h"
    AIRFLOW__LOGGING__WORKER_LOG_SERVER_PORT=$WORKER2_LOG_PORT \
        start celery-worker-2 "$BIN/airflow" celery worker --celery-hostname "worker-2@%h"
    interruptible "${DRIVE[@]}" wait-http "http://127.0.0.1:$API_PORT/api/v2/monitor/health" --timeout 180 \
        || { check_alive; fail "the api-server did not come up"; }
    interruptible "${DRIVE[@]}" wait-http "http://127.0.0.1:$SCHED_HEALTH_PORT/health" --timeout 120 \
        || { check_alive; fail "the scheduler is not healthy"; }
    check_alive
    say "Airflow up after $(($(date +%s) - STARTED_AT))s: api-server :$API_PORT, scheduler, dag-processor," \
        "triggerer, two Celery workers of $AIRFLOW__CELERY__WORKER_CONCURRENCY slots (CeleryExecutor," \
        "Redis broker, PostgreSQL result backend), pool mavi_api of $slots slot(s)"
}

# The settings scripts/system/drive.py reads (never on a command line, so no secret shows in `ps`).
stack_driver_env() {
    export SYSTEM_API_URL="http://127.0.0.1:$API_PORT" SYSTEM_ADMIN_USER=admin SYSTEM_ADMIN_PASSWORD=$ADMIN_PASSWORD
    export SYSTEM_DATA="$RUN/data" SYSTEM_EMULATOR_ADMIN="$EMU_URL/_emulator" SYSTEM_MAVI_KEY=$MAVI_KEY
    export SYSTEM_BRIDGE_URL=$BRIDGE_URL SYSTEM_BRIDGE_TOKEN=$BRIDGE_TOKEN
    # The sessions of every started process (setsid: session id = the leader's pid), to measure their CPU.
    export SYSTEM_SESSIONS="${PIDS[*]}"
}

stack_check_no_secret() {
    local leaks=() s f
    for s in "${SECRETS[@]}"; do
        while IFS= read -r f; do leaks+=("${f#"$STACK_ROOT"/}"); done \
            < <(grep -rlF -- "$s" "$LOGS" "$AIRFLOW_HOME/logs" 2>/dev/null || true)
    done
    [ ${#leaks[@]} -eq 0 ] || fail "a secret appears in: $(printf '%s\n' "${leaks[@]}" | sort -u | tr '\n' ' ')"
    say "no secret (API key, bridge secret and token, passwords, Fernet key, JWT secret) appears in any log"
}
