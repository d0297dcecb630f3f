"""One readiness rule for re_ assets, imc_ frames and im_ frame groups."""

from __future__ import annotations

import random

import pytest

from airflow_provider_mavi.readiness import asset_status, poll_delay


@pytest.mark.parametrize(
    ("entries", "status"),
    [
        ([{"asset_id": "re_1", "upload_status": "SUCCESS"}], "SUCCESS"),
        ([{"asset_id": "re_1", "upload_status": "UPLOADING"}], "UPLOADING"),
        ([{"asset_id": "re_1", "upload_status": "FAILED"}], "FAILED"),
        ([{"upload_status": "SUCCESS"}], "SUCCESS"),  # Mavi left asset_id out of the only entry
        ([], None),
        ("not a list", None),
        ([{"asset_id": "re_2", "upload_status": "SUCCESS"}, {"asset_id": "re_3"}], None),
    ],
)
def test_own_entry_decides(entries: object, status: str | None) -> None:
    assert asset_status(entries, "re_1").status == status


def test_frame_group_is_ready_when_every_frame_is() -> None:
    frames = [{"asset_id": f"imc_9_{i}", "upload_status": "SUCCESS"} for i in range(3)]
    result = asset_status(frames, "im_9")
    assert result.ready
    assert result.entry == {"asset_id": "im_9", "frames": 3}


def test_frame_group_failed_when_one_frame_failed() -> None:
    frames = [
        {"asset_id": "imc_9_0", "upload_status": "SUCCESS"},
        {"asset_id": "imc_9_1", "upload_status": "FAILED"},
    ]
    assert asset_status(frames, "im_9").failed


def test_frame_group_waiting_reports_the_first_other_status() -> None:
    frames = [
        {"asset_id": "imc_9_0", "upload_status": "SUCCESS"},
        {"asset_id": "imc_9_1", "upload_status": "UPLOADING"},
    ]
    result = asset_status(frames, "im_9")
    assert result.status == "UPLOADING"
    assert result.reusable
    assert not result.ready


def test_poll_delay_grows_capped_and_respects_the_bucket() -> None:
    rng = random.Random(3)
    delays = [poll_delay(2.0, n, requests_per_second=1.0, cap=10.0, rng=rng) for n in range(1, 12)]
    assert 1.5 <= delays[0] <= 2.5
    assert max(delays) <= 12.5
    assert delays[-1] >= 7.5
    assert poll_delay(0.1, 1, requests_per_second=0.25, rng=random.Random(0)) >= 3.0


def test_watch_decides_ready_failed_and_timeout_in_one_place() -> None:
    from airflow_provider_mavi.readiness import ReadinessWatch

    watch = ReadinessWatch("re_1", deadline=100.0, poll_interval=2.0, requests_per_second=1.0)
    assert watch.observe([{"asset_id": "re_1", "upload_status": "UPLOADING"}]).status == "UPLOADING"
    delay = watch.next_delay(now=99.5, rng=random.Random(0))
    assert delay == 0.5  # cut to the deadline
    assert watch.next_delay(now=100.0) is None
    assert watch.observe([{"asset_id": "re_1", "upload_status": "SUCCESS"}]).ready
    assert watch.polls == 2


def test_poll_delay_never_beats_the_bucket_even_with_jitter() -> None:
    rng = random.Random(7)
    assert min(poll_delay(0.5, 1, requests_per_second=1.0, rng=rng) for _ in range(200)) >= 1.0
