# The Airflow image of docker-compose.yaml: Apache Airflow 3.3.2 with this provider installed (and the
# emulator's extras, PyAV and Pillow), pinned by constraints.txt to the versions the tests ran with. Every
# Airflow service, the bridge (`mavi-bridge`) and the emulator (`mavi-emulator`) run from it.
#
#   docker compose build            (or: docker build -t airflow-provider-mavi:local .)
#
# The provider goes in at build time, never with pip at container start (_PIP_ADDITIONAL_REQUIREMENTS).
# The Python of the base image matches the one constraints.txt was made with (3.11).
ARG AIRFLOW_IMAGE=apache/airflow:3.3.2-python3.11
FROM ${AIRFLOW_IMAGE}

# Only what the package build needs: the source, its metadata and the pins (see .dockerignore), in a folder
# the airflow user owns (pip builds the package in place).
USER root
RUN mkdir -p /opt/airflow-provider-mavi && chown airflow:0 /opt/airflow-provider-mavi
USER airflow
COPY --chown=airflow:0 pyproject.toml README.md constraints.txt /opt/airflow-provider-mavi/
COPY --chown=airflow:0 airflow_provider_mavi /opt/airflow-provider-mavi/airflow_provider_mavi

# apache-airflow, the Celery and PostgreSQL providers and Celery itself are named so the constraints pin them
# to the tested versions too (Celery 5.7.0 cannot load the CeleryExecutor of the celery provider 3.26.0).
RUN pip install --no-cache-dir --constraint /opt/airflow-provider-mavi/constraints.txt \
        "/opt/airflow-provider-mavi[emulator]" \
        "apache-airflow==${AIRFLOW_VERSION}" \
        apache-airflow-providers-celery apache-airflow-providers-postgres celery psycopg2-binary \
    && mavi-bridge --help >/dev/null \
    && mavi-emulator --help >/dev/null \
    && python -c "import airflow_provider_mavi.hooks.mavi, airflow_provider_mavi.operators.mavi"
