"""
Cost of the bridge's strict intake: ``intake.parse_callback`` (strict JSON, job id rule, canonical hash)
beside the lenient parse it replaced (``json.loads`` refusing only ``NaN``/``Infinity`` constants, then the
same canonical hash), on the same bodies in the same run.

    .venv/bin/python bench/bench_bridge_intake.py [--repeat 7]

Prints microseconds per callback (best of ``--repeat`` rounds) for each body and the ratio strict / lenient.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import time
from collections.abc import Callable
from typing import Any, NoReturn

from airflow_provider_mavi.bridge.intake import canonical_json, parse_callback


def _no_constants(name: str) -> NoReturn:
    raise ValueError(name)


def lenient(body: bytes) -> str:
    """What the intake did before strict JSON: parse, refuse the constants, hash the canonical form."""
    payload = json.loads(body, parse_constant=_no_constants)
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def strict(body: bytes) -> str:
    return parse_callback(body, 0.0).body_sha256


def bodies() -> dict[str, bytes]:
    frames = {
        "code": 200,
        "message": "SUCCESS",
        "task_id": "3f1c0a9e6b2d4c58a1e7f09b2c4d6e8f",
        "data": {"asset_id": "im_1", "asset_ch_ids": [f"imc_{i}" for i in range(30)]},
    }
    text = "a person walks across the room " * 3
    segment = {"start_time": 1.25, "end_time": 3.5, "text": text, "speaker": 0}
    transcript: dict[str, Any] = {
        "code": "0000",
        "msg": "success",
        "task_id": "7a2b9c4d1e0f4a6b8c3d5e7f9a1b2c3d",
        "data": {
            "success": True,
            "data": {"segments": [dict(segment, index=i) for i in range(400)]},
            "usage": {"prompt_tokens": 123456, "output_tokens": 7890, "duration": 61.5},
        },
    }
    numbers = {"task_id": "n", "values": [[i, i * 0.5, -i] for i in range(20_000)]}
    return {
        "frames callback": json.dumps(frames).encode(),
        "transcript, 400 segments": json.dumps(transcript).encode(),
        "60,000 numbers": json.dumps(numbers).encode(),
    }


def per_call(func: Callable[[bytes], str], body: bytes, repeat: int) -> float:
    """Best of ``repeat`` rounds of about 0.2 s each, in microseconds per call."""
    start = time.perf_counter()
    func(body)
    once = max(time.perf_counter() - start, 1e-6)
    number = max(1, int(0.2 / once))
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        for _ in range(number):
            func(body)
        best = min(best, (time.perf_counter() - start) / number)
    return best * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    print(f"{'body':<28}{'bytes':>10}{'lenient us':>12}{'strict us':>12}{'strict/lenient':>16}")
    for name, body in bodies().items():
        assert strict(body) == lenient(body)  # the same hash: only refusals differ
        old, new = [], []
        for _ in range(args.repeat):  # interleaved, so machine load hits both alike
            old.append(per_call(lenient, body, 1))
            new.append(per_call(strict, body, 1))
        o, n = min(old), min(new)
        print(f"{name:<28}{len(body):>10,}{o:>12.1f}{n:>12.1f}{n / o:>16.2f}")


if __name__ == "__main__":
    main()
