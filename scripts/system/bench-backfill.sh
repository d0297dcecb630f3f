#!/usr/bin/env bash
# One episode of bench/bench_backfill.py: the native stack of `make system-test` (scripts/system/stack.sh)
# started with one configuration, one backfill of mavi_backfill_historical through `airflow backfill create`,
# measured by scripts/system/bench_episode.py; then the secret scan, and everything stopped.
#
# Run by bench/bench_backfill.py, which sets (besides the STACK_* settings of stack.sh and the
# MAVI_BACKFILL_* settings of the DAG):
#   BENCH_RUN      the episode's folder (logs, Airflow home, outputs)
#   BENCH_VIDEOS   the archive, BENCH_VIDEOS/YYYY-MM-DD/*.mp4;  BENCH_DAYS  the days, comma-separated
#   BENCH_RESULT   the JSON file the figures go to
#   BENCH_BUDGET   seconds for the whole episode (default 3600); SYSTEM_RUN_TIMEOUT the wait for the backfill
#   BENCH_MAX_ACTIVE_RUNS  the backfill's --max-active-runs (optional)
set -euo pipefail
cd "$(dirname "$0")/../.."
# shellcheck source=scripts/system/stack.sh
source scripts/system/stack.sh

for name in BENCH_RUN BENCH_VIDEOS BENCH_DAYS BENCH_RESULT; do
    [ -n "${!name:-}" ] || { echo "bench-backfill: FAILED: $name is not set" >&2; exit 2; }
done
stack_init bench-backfill "$BENCH_RUN" "${BENCH_BUDGET:-3600}"
stack_start_stores
stack_start_mavi
stack_start_airflow dags/mavi_backfill_historical.py
stack_driver_env
export SYSTEM_LABEL=bench-backfill
extra=()
[ -n "${BENCH_MAX_ACTIVE_RUNS:-}" ] && extra=(--max-active-runs "$BENCH_MAX_ACTIVE_RUNS")
interruptible "${DRIVE[@]}" bench-episode --videos "$BENCH_VIDEOS" --days "$BENCH_DAYS" \
    --result "$BENCH_RESULT" --process-logs "$LOGS" --task-logs "$AIRFLOW_HOME/logs" "${extra[@]}" \
    || { check_alive; fail "the episode could not run"; }
check_alive
unset SYSTEM_ADMIN_PASSWORD SYSTEM_MAVI_KEY SYSTEM_BRIDGE_TOKEN
stack_check_no_secret
say "episode done in $(($(date +%s) - STARTED_AT))s"
