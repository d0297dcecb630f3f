"""Bursts of 429, limit-400 and 5xx answers to paid submits, against the emulator over loopback.

Eight threads submit 40 frame extractions of one ready video through real ``MaviHook``s while the emulator
refuses 30 % of the submits. The rule checked is the money rule: a refusal that created nothing (429,
"Request has exceeded the limit.") is retried a bounded number of times, so a submit pays exactly once or,
when every try was refused, fails with ``MaviRateLimitError`` having paid nothing; an answer that may hide a
created job (a 5xx) is never re-sent, and its error says the job may exist. Each test prints its figure
(RELIABILITY.md quotes it).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from airflow_provider_mavi.emulator.samples import make_sample_video
from airflow_provider_mavi.emulator.testing import CallbackReceiver, EmulatorServer
from airflow_provider_mavi.exceptions import MaviRateLimitError, MaviServerError
from airflow_provider_mavi.hooks.mavi import MaviHook
from airflow_provider_mavi.retry import RetryPolicy

pytestmark = pytest.mark.slow

SUBMITS = 40
THREADS = 8
SHARE = 0.3
ENDPOINT = "POST /video/extract-frames"
# the hook's defaults (3 tries of a 429, 3 of the ambiguous 400), a few ms apart
POLICY = RetryPolicy(max_attempts=3, limit_attempts=3, base_delay=0.01, max_delay=0.05)


@pytest.fixture(scope="module")
def account(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[EmulatorServer, str]]:
    """An emulator with a fast limit, ``mavi_default`` pointing at it, and one ready video asset."""
    work = tmp_path_factory.mktemp("bursts")
    video = make_sample_video(work / "clip.mp4", seconds=2.0, width=160, height=120)
    with (
        CallbackReceiver() as receiver,
        EmulatorServer(webhook_url=receiver.url, qps=200, data_dir=work / "emulator") as mavi,
        pytest.MonkeyPatch.context() as patch,
    ):
        patch.setenv("MAVI_RATE_LIMIT_DIR", str(work / "ratelimit"))
        connection = {
            "conn_type": "mavi",
            "host": mavi.base_url,
            "password": mavi.api_key,
            "extra": {"max_requests_per_second": 200, "timeout": 10},
        }
        patch.setenv("AIRFLOW_CONN_MAVI_DEFAULT", json.dumps(connection))
        hook = MaviHook(retry_policy=POLICY)
        asset_id = hook.upload_file(Path(video))
        hook.wait_for_asset_ready(asset_id, timeout=60, poll_interval=0.2)
        yield mavi, asset_id


def burst(asset_id: str) -> list[str | BaseException]:
    """Submit SUBMITS frame extractions from THREADS threads, each with its own hook; return ids or errors."""

    def submit(_: int) -> str | BaseException:
        try:
            return MaviHook(retry_policy=POLICY).extract_frames(asset_id)
        except Exception as error:  # collected: the test counts them
            return error

    with ThreadPoolExecutor(THREADS) as pool:
        return list(pool.map(submit, range(SUBMITS)))


def submits_and_jobs(mavi: EmulatorServer) -> tuple[int, int]:
    """(submit requests the emulator received, frame jobs it created) so far."""
    stats: dict[str, Any] = mavi.stats()
    jobs = sum(1 for job in stats["jobs"] if job["kind"] == "extract_frames")
    return stats["requests"].get(ENDPOINT, 0), jobs


@pytest.mark.parametrize("status", [429, 400])
def test_a_burst_of_limit_answers_pays_each_submit_at_most_once(
    account: tuple[EmulatorServer, str], status: int
) -> None:
    mavi, asset_id = account
    requests_before, jobs_before = submits_and_jobs(mavi)
    mavi.set_faults({"rate_limit": {"probability": SHARE, "status": status, "endpoints": [ENDPOINT]}})
    try:
        results = burst(asset_id)
    finally:
        mavi.set_faults({})
    requests, jobs = submits_and_jobs(mavi)
    requests, jobs = requests - requests_before, jobs - jobs_before
    errors = [r for r in results if isinstance(r, BaseException)]
    ids = [r for r in results if isinstance(r, str)]
    # a submit refused on every try ends in the rate-limit error (ambiguous for the 400 form), never another
    assert all(isinstance(error, MaviRateLimitError) for error in errors), errors
    assert all(
        error.ambiguous is (status == 400) for error in errors if isinstance(error, MaviRateLimitError)
    )
    assert len(ids) >= SUBMITS * 0.8
    assert len(set(ids)) == len(ids)
    assert jobs == len(ids)  # one paid job per job id returned: the refused tries created nothing
    refused = requests - jobs
    assert refused > 0, "no limit answer was drawn: the burst tested nothing"
    print(
        f"{status} burst: {SUBMITS} submits from {THREADS} threads, {requests} requests, {refused} refused "
        f"(retried up to 3 tries); {len(ids)} job ids returned, {jobs} jobs paid, "
        f"{len(errors)} MaviRateLimitError after 3 refused tries (nothing paid)"
    )


@pytest.mark.parametrize("after", [False, True], ids=["5xx-before-the-job", "5xx-after-the-job"])
def test_a_burst_of_5xx_answers_never_resends_a_submit(
    account: tuple[EmulatorServer, str], after: bool
) -> None:
    mavi, asset_id = account
    requests_before, jobs_before = submits_and_jobs(mavi)
    mavi.set_faults(
        {"server_error": {"probability": SHARE, "status": 503, "after": after, "endpoints": [ENDPOINT]}}
    )
    try:
        results = burst(asset_id)
    finally:
        mavi.set_faults({})
    requests, jobs = submits_and_jobs(mavi)
    requests, jobs = requests - requests_before, jobs - jobs_before
    errors = [r for r in results if isinstance(r, BaseException)]
    ids = [r for r in results if isinstance(r, str)]
    assert errors, "no 5xx was drawn: the burst tested nothing"
    assert all(isinstance(error, MaviServerError) for error in errors), errors
    for error in errors:
        assert "503" in str(error)
        assert "may have" in str(error), str(error)  # the user is told the job may exist and be billed
    assert requests == SUBMITS  # a POST answered 5xx is never sent again by the hook
    # before: the refused submits made nothing; after: each one made a job the caller never got the id of
    assert jobs == (SUBMITS if after else len(ids))
    print(
        f"503 burst ({'after' if after else 'before'} the job): {SUBMITS} submits, {requests} requests "
        f"(none re-sent), {len(errors)} MaviServerError saying the job may exist, {len(ids)} job ids "
        f"returned, {jobs} jobs created"
    )
