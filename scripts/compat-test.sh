#!/usr/bin/env bash
# The compatibility run on the lowest supported Airflow (what `make compat-test` and CI run).
#
# A separate venv (.venv-compat) gets apache-airflow==$COMPAT_AIRFLOW_VERSION (default 3.1.8) WITHOUT
# constraints.txt (that file pins 3.3), plus this package with its [emulator] extra and the test libraries
# these tests import (their version ranges read from the [dev] extra; the whole [dev] extra, with the Amazon
# provider and moto, sends pip's resolver backtracking for many minutes without the constraints). Then:
#   1. the unit tests (tests/unit),
#   2. the DagBag import of every example DAG (tests/e2e/test_dagbag.py),
#   3. the pipeline DAG end to end: `airflow dags test mavi_video_pipeline` against the real emulator and
#      bridge (tests/e2e/test_video_pipeline.py).
# Version-dependent imports live in airflow_provider_mavi/compat.py; a test that needs a newer Airflow
# skips with the reason (pytest -rs prints it).
#
#   COMPAT_AIRFLOW_VERSION=3.2.2 scripts/compat-test.sh     another version, in its own venv (3.2.2: the
#                                                           unit tests and the DagBag pass; its DAG run fails
#                                                           inside Airflow with pip's newest FastAPI/Cadwyn)
#   COMPAT_VENV=/tmp/af31 scripts/compat-test.sh            another venv location
#   scripts/compat-test.sh -k dagbag                        extra arguments go to pytest
set -euo pipefail
cd "$(dirname "$0")/.."

PYTHON="${PYTHON:-python3}"
VERSION="${COMPAT_AIRFLOW_VERSION:-3.1.8}"
VENV="${COMPAT_VENV:-.venv-compat}"
[ "$VERSION" = 3.1.8 ] || VENV="${COMPAT_VENV:-.venv-compat-$VERSION}"
BIN="$VENV/bin"
STAMP="$VENV/.installed-$VERSION"
# What tests/unit and the two e2e modules import beyond the provider and Airflow.
TEST_LIBS="pytest pytest-asyncio pytest-timeout hypothesis numpy pyarrow psycopg psycopg2-binary redis
    apache-airflow-providers-openlineage"

say() { echo "compat-test: $*"; }
started=$(date +%s)

if [ ! -f "$STAMP" ] || [ pyproject.toml -nt "$STAMP" ] || [ "$0" -nt "$STAMP" ]; then
    say "installing apache-airflow==$VERSION and the provider into $VENV (no constraints)"
    test -x "$BIN/python" || "$PYTHON" -m venv "$VENV"
    "$BIN/python" -m pip install -q --upgrade pip
    mapfile -t test_reqs < <("$PYTHON" scripts/dev_requirements.py $TEST_LIBS)
    "$BIN/python" -m pip install -q "apache-airflow==$VERSION" -e '.[emulator]' "${test_reqs[@]}"
    touch "$STAMP"
fi
installed=$("$BIN/python" -c 'import airflow; print(airflow.__version__)')
[ "$installed" = "$VERSION" ] || { echo "compat-test: $VENV has Airflow $installed, not $VERSION" >&2; exit 1; }
say "Airflow $installed in $VENV ($(( $(date +%s) - started ))s to prepare)"

"$BIN/python" -m pytest -q -rs \
    tests/unit tests/e2e/test_dagbag.py tests/e2e/test_video_pipeline.py "$@"
say "done on Airflow $installed in $(( $(date +%s) - started ))s"
