#!/usr/bin/env bash
# The topology of docker-compose.yaml, run natively (no Docker engine needed; see scripts/system/stack.sh):
# PostgreSQL and Redis from Debian's packages on free loopback ports, Airflow with the CeleryExecutor as
# separate processes (api-server, scheduler, dag-processor, triggerer, two Celery workers), the bridge on
# PostgreSQL in its own database, and the emulator standing in for Mavi. It triggers the pipeline DAG through
# Airflow's REST API and a two-day backfill, and submits a frame extraction outside Airflow (MaviHook in the
# driver) while the event-driven mavi_on_callback watches the bridge from the triggerer; waits for them with a
# bound, checks the outputs, that each job was submitted once and that each frame extraction started
# mavi_on_callback once, which unpacked its frames; then kills the triggerer while a job waits for its
# callback and checks that a new triggerer takes over (the job and the watcher) without a job being submitted
# twice or a callback firing twice; prints the evidence that tasks ran on the Celery
# workers and waited in the triggerer, checks that no secret reached a log, and stops everything it started,
# also on failure.
#
#   scripts/system-test.sh            the pipeline and the backfill (what `make system-test` runs)
#   scripts/system-test.sh --smoke    the topology alone, with tests/system/dags/system_smoke.py
#
# Everything lands in .system-test/ (logs in .system-test/logs/, AIRFLOW_HOME in .system-test/airflow/).
# SYSTEM_TEST_BUDGET (seconds, default 1080) bounds the whole run; SYSTEM_RUN_TIMEOUT (default 600) the
# wait for the DAG runs. Needs root (or sudo) the first time, to install postgresql and redis-server.
set -euo pipefail
cd "$(dirname "$0")/.."
MODE=pipeline
[ "${1:-}" = "--smoke" ] && MODE=smoke
# shellcheck source=scripts/system/stack.sh
source scripts/system/stack.sh

if [ "$MODE" = pipeline ]; then
    for f in dags/mavi_video_pipeline.py dags/mavi_backfill_historical.py dags/mavi_on_callback.py; do
        [ -f "$f" ] || { echo "system-test: FAILED: $f is missing (try --smoke)" >&2; exit 1; }
    done
fi

# As the README recommends for a cluster: the rate limiter on Redis with a bucket per endpoint (the limiter
# reads these extras; a provider without them ignores them), and a pool that bounds only the Mavi tasks on
# workers, here the two workers' 2 x 2 slots. The checks include that the emulator refused no request.
STACK_CONN_EXTRAS='{"max_requests_per_second": 1, "rate_limit_scope": "endpoint", "rate_limit_url": "{redis_url}"}'
STACK_POOL_SLOTS=4
stack_init system-test "$PWD/.system-test" "${SYSTEM_TEST_BUDGET:-1080}"
# Where mavi_on_callback unpacks the frames of each callback that starts it (read by the DAG and the checks).
export MAVI_ON_CALLBACK_OUTPUT="$RUN/data/output/on-callback"
stack_start_stores
if [ "$MODE" = pipeline ]; then
    stack_start_mavi
    stack_start_airflow dags/*.py
else
    stack_start_airflow tests/system/dags/system_smoke.py
fi

# ---------------------------------------------------------------- the runs
stack_driver_env
interruptible "${DRIVE[@]}" "$MODE" || { check_alive; fail "the runs did not pass their checks"; }
check_alive

if [ "$MODE" = pipeline ]; then
    # A triggerer dies while a job waits for its callback: a new triggerer takes the trigger over, the run
    # succeeds, and no job is submitted twice.
    interruptible "${DRIVE[@]}" crash-start "$RUN/crash-run" \
        || { check_alive; fail "the crash test could not start"; }
    crash triggerer
    say "crash test: killed the triggerer and its children (SIGKILL); starting another one"
    start triggerer-2 "$BIN/airflow" triggerer
    interruptible "${DRIVE[@]}" crash-finish "$RUN/crash-run" "$AIRFLOW_HOME/logs" \
        || { check_alive; fail "the run did not survive the triggerer's crash"; }
    check_alive
fi
unset SYSTEM_ADMIN_PASSWORD SYSTEM_MAVI_KEY SYSTEM_BRIDGE_TOKEN

# ---------------------------------------------------------------- evidence from the logs
sleep 2  # the worker logs a workload's end just after the task's state reached the API
"${DRIVE[@]}" evidence "$LOGS" "$AIRFLOW_HOME/logs"

# ---------------------------------------------------------------- no secret in any log
stack_check_no_secret
say "PASSED ($MODE) in $(($(date +%s) - STARTED_AT))s"
