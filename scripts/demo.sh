#!/usr/bin/env bash
# The offline demo behind `make demo` and `make demo-insights`: the Mavi emulator and the webhook bridge on free
# loopback ports with fresh secrets, a local Airflow home under .demo/, a short sample video, and an example DAG
# run with `airflow dags test`. Prints where the results are (frames, transcripts, report, contact sheet) and
# what the run would have cost.
#
# Everything it starts is stopped on exit, on failure and on Ctrl-C. Secrets are generated here, handed to
# the services through the environment (never on a command line), and never printed.
#
# Environment: VENV (default .venv), MAVI_DEMO_DIR (default .demo), MAVI_DEMO_VIDEO (your own video instead of
# the generated sample), MAVI_DEMO_SECONDS (sample length, default 6), MAVI_DEMO_MODEL (pipeline),
# MAVI_DEMO_DAG (mavi_video_pipeline, the default, or mavi_video_insights), MAVI_DEMO_SEGMENT_SECONDS (insights:
# seconds per segment, default 2).
set -euo pipefail

REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="${VENV:-$REPO/.venv}"
case "$VENV" in /*) ;; *) VENV="$REPO/$VENV" ;; esac
BIN="$VENV/bin"
PY="$BIN/python"
DEMO_DIR="${MAVI_DEMO_DIR:-$REPO/.demo}"
case "$DEMO_DIR" in /*) ;; *) DEMO_DIR="$REPO/$DEMO_DIR" ;; esac
MODEL="${MAVI_DEMO_MODEL:-gemini-2.5-flash-lite}"
DAG="${MAVI_DEMO_DAG:-mavi_video_pipeline}"
SEGMENT_SECONDS="${MAVI_DEMO_SEGMENT_SECONDS:-2}"
SECONDS_OF_VIDEO="${MAVI_DEMO_SECONDS:-6}"

say() { printf 'demo: %s\n' "$*"; }
die() { printf 'demo: error: %s\n' "$*" >&2; exit 1; }

[ -x "$PY" ] || die "no virtual environment at $VENV: run 'make demo' (it creates it) or 'make venv'"
for tool in airflow mavi-emulator mavi-bridge; do
    [ -x "$BIN/$tool" ] || die "$BIN/$tool is missing: run 'make venv' to install the provider with its extras"
done

# Check what the user gave before anything starts.
VIDEO=""
if [ -n "${MAVI_DEMO_VIDEO:-}" ]; then
    [ -f "$MAVI_DEMO_VIDEO" ] || die "MAVI_DEMO_VIDEO: no file $MAVI_DEMO_VIDEO (give the path of a video file)"
    VIDEO="$(cd "$(dirname "$MAVI_DEMO_VIDEO")" && pwd)/$(basename "$MAVI_DEMO_VIDEO")"
fi
case "$MODEL" in
    gemini-2.5-flash-lite | gemini-2.5-flash | gemini-2.5-flash-preview-09-2025 | gemini-2.5-flash-lite-preview-09-2025) ;;
    *) die "MAVI_DEMO_MODEL: $MODEL is not a model Mavi supports (gemini-2.5-flash-lite, gemini-2.5-flash, ...)" ;;
esac
if ! [[ "$SECONDS_OF_VIDEO" =~ ^[0-9]+([.][0-9]+)?$ ]] || [ -z "${SECONDS_OF_VIDEO//[.0]/}" ]; then
    die "MAVI_DEMO_SECONDS: $SECONDS_OF_VIDEO is not a positive number of seconds"
fi
case "$DAG" in
    mavi_video_pipeline)
        RESULT_FILE=summary.json
        STEPS="upload -> extract frames -> transcribe -> download frames -> contact sheet -> summary" ;;
    mavi_video_insights)
        RESULT_FILE=report.json
        STEPS="upload -> split -> per segment: download, speech, scenes, VLM question -> summary -> frames -> report"
        [[ "$SEGMENT_SECONDS" =~ ^[1-9][0-9]*$ ]] \
            || die "MAVI_DEMO_SEGMENT_SECONDS: $SEGMENT_SECONDS is not a whole number of seconds >= 1" ;;
    *) die "MAVI_DEMO_DAG: $DAG is not a demo DAG (mavi_video_pipeline or mavi_video_insights)" ;;
esac

LOGS="$DEMO_DIR/logs"
RESULTS="$DEMO_DIR/results"
mkdir -p "$LOGS" "$RESULTS" "$DEMO_DIR/emulator"

# --- services: started here, stopped on every way out ----------------------------------------------------
PIDS=()
cleanup() {
    local status=$?
    trap - EXIT INT TERM
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    for pid in "${PIDS[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    done
    [ ${#PIDS[@]} -eq 0 ] || say "stopped the emulator and the bridge"
    exit "$status"
}
trap cleanup EXIT
trap 'say "interrupted"; exit 130' INT
trap 'say "terminated"; exit 143' TERM

free_port() { "$PY" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'; }
new_secret() { "$PY" -c 'import secrets; print(secrets.token_urlsafe(32))'; }

# Replace every secret by *** in what we show (airflow dags test masks nothing in its own output).
redact() { sed -e "s/$API_KEY/***/g" -e "s/$CALLBACK_SECRET/***/g" -e "s/$BRIDGE_TOKEN/***/g"; }

wait_http() { # URL PID NAME LOG
    local url=$1 pid=$2 name=$3 logfile=$4
    for _ in $(seq 150); do
        if ! kill -0 "$pid" 2>/dev/null; then
            tail -n 20 "$logfile" | redact >&2
            die "$name exited during start (log: $logfile)"
        fi
        if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' "$url" 2>/dev/null; then
            return 0
        fi
        sleep 0.2
    done
    die "$name did not answer $url within 30 s (log: $logfile)"
}

API_KEY="sk-demo-$(new_secret)"
CALLBACK_SECRET="$(new_secret)"
BRIDGE_TOKEN="$(new_secret)"
EMULATOR_PORT="$(free_port)"
BRIDGE_PORT="$(free_port)"
while [ "$BRIDGE_PORT" = "$EMULATOR_PORT" ]; do BRIDGE_PORT="$(free_port)"; done
BASE_URL="http://127.0.0.1:$EMULATOR_PORT/serve/api/v2"
BRIDGE_URL="http://127.0.0.1:$BRIDGE_PORT"

say "starting the webhook bridge on $BRIDGE_URL"
MAVI_BRIDGE_DB_URL="sqlite:///$DEMO_DIR/bridge.sqlite3" \
MAVI_BRIDGE_CALLBACK_SECRET="$CALLBACK_SECRET" \
MAVI_BRIDGE_API_TOKEN="$BRIDGE_TOKEN" \
    "$BIN/mavi-bridge" serve --host 127.0.0.1 --port "$BRIDGE_PORT" >"$LOGS/bridge.log" 2>&1 &
PIDS+=($!)
wait_http "$BRIDGE_URL/healthz" "${PIDS[-1]}" "the bridge" "$LOGS/bridge.log"

say "starting the Mavi emulator on http://127.0.0.1:$EMULATOR_PORT (webhook: the bridge)"
MAVI_EMULATOR_API_KEY="$API_KEY" \
    "$BIN/mavi-emulator" serve --host 127.0.0.1 --port "$EMULATOR_PORT" --data-dir "$DEMO_DIR/emulator" \
    >"$LOGS/emulator.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$EMULATOR_PORT/_emulator/healthz" "${PIDS[-1]}" "the emulator" "$LOGS/emulator.log"
# The account-wide webhook, as you would register it in the Mavi console: the bridge's callback URL.
MAVI_DEMO_API_KEY="$API_KEY" MAVI_DEMO_WEBHOOK="$BRIDGE_URL/callbacks/$CALLBACK_SECRET" \
    "$PY" - "http://127.0.0.1:$EMULATOR_PORT/_emulator/webhook" <<'EOF' || die "could not set the emulator's webhook"
import json, os, sys, urllib.request
body = json.dumps({"url": os.environ["MAVI_DEMO_WEBHOOK"]}).encode()
headers = {"Content-Type": "application/json", "Authorization": os.environ["MAVI_DEMO_API_KEY"]}
request = urllib.request.Request(sys.argv[1], data=body, method="PUT", headers=headers)
urllib.request.urlopen(request, timeout=10).read()
EOF

# --- Airflow: a local home, its database, the connection and the pool -------------------------------------
export AIRFLOW_HOME="$DEMO_DIR/airflow"
export AIRFLOW__CORE__DAGS_FOLDER="$REPO/dags"
export AIRFLOW__CORE__LOAD_EXAMPLES=False
export AIRFLOW__LOGGING__LOGGING_LEVEL=INFO
AIRFLOW_CONN_MAVI_DEFAULT="$(MAVI_DEMO_API_KEY="$API_KEY" MAVI_DEMO_BRIDGE_TOKEN="$BRIDGE_TOKEN" \
    "$PY" - "$BASE_URL" "$BRIDGE_URL" <<'EOF'
import json, os, sys
print(json.dumps({
    "conn_type": "mavi",
    "host": sys.argv[1],
    "password": os.environ["MAVI_DEMO_API_KEY"],
    "extra": {"bridge_url": sys.argv[2], "bridge_token": os.environ["MAVI_DEMO_BRIDGE_TOKEN"],
              "max_requests_per_second": 1},
}))
EOF
)"
export AIRFLOW_CONN_MAVI_DEFAULT
mkdir -p "$AIRFLOW_HOME"

say "preparing Airflow in $AIRFLOW_HOME (airflow db migrate)"
"$BIN/airflow" db migrate >"$LOGS/airflow-db-migrate.log" 2>&1 \
    || { tail -n 30 "$LOGS/airflow-db-migrate.log" | redact >&2; die "airflow db migrate failed"; }
"$BIN/airflow" pools set mavi_api 1 "Mavi account: 1 request per second" >"$LOGS/airflow-pools.log" 2>&1 \
    || { tail -n 30 "$LOGS/airflow-pools.log" | redact >&2; die "could not create the mavi_api pool"; }

# --- the video --------------------------------------------------------------------------------------------
if [ -n "$VIDEO" ]; then
    say "using your video $VIDEO"
else
    VIDEO="$DEMO_DIR/sample.mp4"
    say "making a ${SECONDS_OF_VIDEO}s sample video at $VIDEO"
    "$BIN/mavi-emulator" sample-video "$VIDEO" --seconds "$SECONDS_OF_VIDEO" >"$LOGS/sample-video.log" 2>&1 \
        || { tail -n 20 "$LOGS/sample-video.log" >&2; die "could not make the sample video"; }
fi

# --- the DAG run ------------------------------------------------------------------------------------------
CONF="$("$PY" - "$DAG" "$VIDEO" "$MODEL" "$RESULTS" "$SEGMENT_SECONDS" <<'EOF'
import json, sys
dag, video, model, output, segment_seconds = sys.argv[1:]
conf = {"video": video, "output": output}
if dag == "mavi_video_pipeline":
    conf["model"] = model
else:
    conf["segment_seconds"] = int(segment_seconds)
print(json.dumps(conf))
EOF
)"
STAMP="$DEMO_DIR/.run-started"
touch "$STAMP"
say "running the DAG: airflow dags test $DAG -c '$CONF'"
say "  ($STEPS;"
say "   log: $LOGS/dags-test.log)"
if ! "$BIN/airflow" dags test "$DAG" -c "$CONF" 2>&1 | redact >"$LOGS/dags-test.log"; then
    tail -n 40 "$LOGS/dags-test.log" >&2
    die "the DAG run failed (full log: $LOGS/dags-test.log)"
fi

RESULT="$(find "$RESULTS" -name "$RESULT_FILE" -newer "$STAMP" -print 2>/dev/null | head -n 1)"
if [ -z "$RESULT" ]; then
    tail -n 40 "$LOGS/dags-test.log" >&2
    die "the DAG run wrote no $RESULT_FILE under $RESULTS (full log: $LOGS/dags-test.log)"
fi
MAVI_DEMO_API_KEY="$API_KEY" \
    "$PY" "$REPO/scripts/demo_report.py" "$RESULT" "http://127.0.0.1:$EMULATOR_PORT/_emulator/stats"
