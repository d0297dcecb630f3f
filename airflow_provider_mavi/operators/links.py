"""Extra links of the Mavi operators: the job's record in the bridge, and where the results were written.

As in the dbt Cloud provider, an operator pushes each link's URL to XCom while it runs
(``mavi_bridge_job_url``, ``mavi_results_url``) and the link reads it back: the buttons work after the
fact, on any finished or failed try, without the connection or the bridge being asked again.

- **Bridge job page**: ``<bridge>/ui/jobs/<job id>`` (:data:`JOB_RECORD_PATH`), the job id as ONE escaped
  path segment: the bridge's page for people about the job (status, task, deadline, price, payload,
  deliveries, timings), there from the submit on, behind the bridge's token login (or the Airflow login when
  the bridge runs as the plugin); anyone else gets 401. ``<bridge>``
  is the connection's ``bridge_public_url`` when set (the address people open, e.g. behind a proxy), else
  its ``bridge_url``; user info, query and fragment are dropped, and the bearer token is never in it.
- **Results**: an ``http(s)://`` location as it is (without user info, query or fragment: a signed URL's
  signature is a secret); ``s3://bucket/key`` as the AWS console's S3 browser of that prefix;
  ``gs://bucket/key`` as the Google Cloud console's storage browser; a local (``file://``) path or any
  other scheme has no link (a worker's disk cannot be opened from a browser).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote, urlencode, urlsplit, urlunsplit

from airflow.sdk import BaseOperatorLink

from airflow_provider_mavi.hooks.bridge_protocol import job_segment, public_url

if TYPE_CHECKING:
    from airflow.sdk import BaseOperator, Context
    from airflow.sdk.types import TaskInstanceKey

__all__ = [
    "BRIDGE_JOB_URL_XCOM_KEY",
    "JOB_RECORD_PATH",
    "RESULTS_URL_XCOM_KEY",
    "MaviBridgeJobLink",
    "MaviResultsLink",
    "bridge_job_url",
    "push_job_links",
    "push_link",
    "results_url",
]

#: XCom key of the bridge page of the task's Mavi job.
BRIDGE_JOB_URL_XCOM_KEY = "mavi_bridge_job_url"
#: XCom key of the browsable location of the task's results.
RESULTS_URL_XCOM_KEY = "mavi_results_url"
#: Where the bridge serves one job's page, under its base URL (the job id is appended).
JOB_RECORD_PATH = "ui/jobs"

_AWS_S3_CONSOLE = "https://s3.console.aws.amazon.com/s3/buckets/"
_GCS_CONSOLE = "https://console.cloud.google.com/storage/browser/"


def bridge_job_url(bridge_url: str, job_id: str) -> str:
    """The bridge's page of one job: ``<bridge>/ui/jobs/<job id>`` (:data:`JOB_RECORD_PATH`).

    :param bridge_url: the bridge's base URL (any credentials in it are dropped).
    :param job_id: the Mavi job id (one escaped path segment).
    :raises ValueError: for a job id that cannot be one path segment, or a URL that is not http(s).
    """
    base = public_url(bridge_url)
    if urlsplit(base).scheme not in {"http", "https"}:
        raise ValueError(f"the bridge URL must be http(s), got {base!r}")
    return f"{base.rstrip('/')}/{JOB_RECORD_PATH}/{job_segment(job_id)}"


def results_url(location: object, *, directory: bool) -> str | None:
    """A browsable URL for a results location, or None when it has none (local paths, other schemes).

    :param location: a path, URL or ``ObjectStoragePath``.
    :param directory: True when the location is a folder (its contents are listed).
    """
    text = str(location or "").strip()
    if "://" not in text:
        return None
    parts = urlsplit(text)
    scheme = parts.scheme.lower()
    host = parts.hostname or ""
    if not host:
        return None
    key = parts.path.lstrip("/")
    if scheme in {"http", "https"}:
        netloc = f"{host}:{parts.port}" if parts.port else host
        return urlunsplit((scheme, netloc, parts.path or "/", "", ""))
    prefix = key.rstrip("/") + "/" if directory and key else key
    if scheme in {"s3", "s3a"}:
        query = urlencode({"prefix": prefix}, quote_via=quote) if prefix else ""
        return f"{_AWS_S3_CONSOLE}{quote(host, safe='')}" + (f"?{query}" if query else "")
    if scheme in {"gs", "gcs"}:
        page = _GCS_CONSOLE if directory else _GCS_CONSOLE + "_details/"
        return page + quote(host, safe="") + ("/" + quote(prefix) if prefix else "")
    return None


def push_link(context: Context, key: str, url: str | None) -> None:
    """Push a link's URL to the task's XCom; ``""`` when there is none (the button is then disabled, and
    the link's read finds a value instead of logging a missing XCom).

    :param context: the task's context.
    :param key: :data:`BRIDGE_JOB_URL_XCOM_KEY` or :data:`RESULTS_URL_XCOM_KEY`.
    :param url: the URL, or None.
    """
    context["ti"].xcom_push(key=key, value=url or "")


def push_job_links(context: Context, pages_url: str, job_id: str, results: object, log: Any) -> None:
    """Push the bridge page of a job and, when the task writes results somewhere browsable, their URL.

    :param context: the task's context.
    :param pages_url: the bridge's base URL for people (``BridgeSettings.pages_url``).
    :param job_id: the Mavi job id.
    :param results: the folder the task writes its results to, or None.
    :param log: where to say why there is no bridge link.
    """
    try:
        push_link(context, BRIDGE_JOB_URL_XCOM_KEY, bridge_job_url(pages_url, job_id))
    except ValueError as error:
        log.warning("No bridge link for Mavi job %s: %s", job_id, error)
    push_link(context, RESULTS_URL_XCOM_KEY, results_url(results, directory=True))


class _XComLink(BaseOperatorLink):
    """A link whose URL the task pushed to XCom under :attr:`url_key`."""

    url_key: str = ""

    def get_link(self, operator: BaseOperator, *, ti_key: TaskInstanceKey) -> str:
        """The URL the task pushed, or ``""`` (no link) when it pushed none.

        :param operator: the task's operator.
        :param ti_key: the task instance.
        """
        from airflow.sdk.execution_time.xcom import XCom

        value: Any = XCom.get_value(ti_key=ti_key, key=self.url_key)
        return value if isinstance(value, str) else ""


class MaviBridgeJobLink(_XComLink):
    """The bridge's record of the task's Mavi job (kind, asset, state, submission time)."""

    name = "Mavi job (bridge)"
    url_key = BRIDGE_JOB_URL_XCOM_KEY


class MaviResultsLink(_XComLink):
    """Where the task wrote its results (object storage console, or the http(s) location)."""

    name = "Mavi results"
    url_key = RESULTS_URL_XCOM_KEY
