"""Fault injection: rules that fire by probability or for the next N events, reproducible with a seed.

A configuration is a JSON object keyed by fault name; each value may hold ``probability`` (0..1), ``next``
(fire for the next N matching events, then fall back to ``probability``), ``endpoints`` (request faults only:
a list like ``["POST /video/extract-frames"]``; all endpoints when missing) and the fault's own options:

=====================  ===========  ==========================================================================
name                   applies to   options
=====================  ===========  ==========================================================================
``callback_delay``     job          ``seconds`` (default 5): wait before the first delivery
``duplicate_callback`` job          ``copies`` (default 2): deliver the same body this many times
``drop_callback``      job          never deliver the callback
``failure_callback``   job          ``code`` (default 500), ``msg``: send a failure body
                                    (inner ``success: false``)
``server_error``       request      ``status`` (default 500), ``after`` (default false: run the request first,
                                    so a job may exist although the client saw a 5xx)
``slow_response``      request      ``seconds`` (default 3): wait before answering
``connection_reset``   request      ``after`` (default false): reset the TCP connection with no answer
``rate_limit``         request      ``status`` (default 0: the account's style; or 400, 429): a rate-limit
                                    rejection
=====================  ===========  ==========================================================================
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from typing import Any

JOB_FAULTS: dict[str, dict[str, Any]] = {
    "callback_delay": {"seconds": 5.0},
    "duplicate_callback": {"copies": 2},
    "drop_callback": {},
    "failure_callback": {"code": 500, "msg": "Task failed (fault injected by the emulator)."},
}
REQUEST_FAULTS: dict[str, dict[str, Any]] = {
    "server_error": {"status": 500, "after": False},
    "slow_response": {"seconds": 3.0},
    "connection_reset": {"after": False},
    "rate_limit": {"status": 0},
}
ALL_FAULTS: dict[str, dict[str, Any]] = {**JOB_FAULTS, **REQUEST_FAULTS}


#: Upper bounds of numeric options: a fault must end in a test's lifetime and send a bounded number of bodies.
MAXIMA: dict[str, float] = {"seconds": 3600.0, "copies": 100}


class FaultConfigError(ValueError):
    """A fault configuration that cannot be used."""


def _check_bounds(name: str, options: dict[str, Any]) -> None:
    """Check the options' ranges and kinds beyond "a non-negative number".

    :param name: the fault's name.
    :param options: its options, defaults filled in.
    :raises FaultConfigError: naming what is wrong.
    """
    for key, high in MAXIMA.items():
        if key in options and options[key] > high:
            raise FaultConfigError(f"fault {name!r}: {key} must be at most {high:g}")
    if "copies" in options and (not isinstance(options["copies"], int) or options["copies"] < 1):
        raise FaultConfigError(f"fault {name!r}: copies must be an integer of at least 1")
    if name == "server_error" and (
        not isinstance(options["status"], int) or not 500 <= options["status"] <= 599
    ):
        raise FaultConfigError("fault 'server_error': status must be an integer from 500 to 599")
    if name == "failure_callback":
        if not isinstance(options["code"], int):
            raise FaultConfigError("fault 'failure_callback': code must be an integer")
        if not isinstance(options["msg"], str):
            raise FaultConfigError("fault 'failure_callback': msg must be a string")


@dataclass
class FaultRule:
    """One configured fault."""

    name: str
    probability: float = 0.0
    next: int = 0
    endpoints: list[str] | None = None
    options: dict[str, Any] = field(default_factory=dict)
    fired: int = 0

    def as_dict(self) -> dict[str, Any]:
        """Return the rule as JSON, with the remaining ``next`` count and how often it fired."""
        body: dict[str, Any] = {
            "probability": self.probability,
            "next": self.next,
            "fired": self.fired,
            **self.options,
        }
        if self.endpoints is not None:
            body["endpoints"] = self.endpoints
        return body


def parse_rule(name: str, spec: Any) -> FaultRule:
    """Check one fault's configuration and build its rule.

    :param name: the fault's name.
    :param spec: its JSON configuration.
    :raises FaultConfigError: naming what is wrong.
    """
    if name not in ALL_FAULTS:
        raise FaultConfigError(f"unknown fault {name!r}; known: {', '.join(sorted(ALL_FAULTS))}")
    if not isinstance(spec, dict):
        raise FaultConfigError(f"fault {name!r} must be an object")
    known = {"probability", "next", "endpoints", *ALL_FAULTS[name]}
    unknown = set(spec) - known
    if unknown:
        raise FaultConfigError(f"fault {name!r} has unknown option(s) {sorted(unknown)}")
    probability = spec.get("probability", 0.0)
    count = spec.get("next", 0)
    if (
        not isinstance(probability, (int, float))
        or isinstance(probability, bool)
        or not 0 <= probability <= 1
    ):
        raise FaultConfigError(f"fault {name!r}: probability must be a number from 0 to 1")
    if not isinstance(count, int) or isinstance(count, bool) or count < 0:
        raise FaultConfigError(f"fault {name!r}: next must be a non-negative integer")
    endpoints = spec.get("endpoints")
    if endpoints is not None and (
        name in JOB_FAULTS
        or not isinstance(endpoints, list)
        or not all(isinstance(e, str) for e in endpoints)
    ):
        raise FaultConfigError(
            f"fault {name!r}: endpoints must be a list of 'METHOD /path' (request faults only)"
        )
    options = {key: spec.get(key, default) for key, default in ALL_FAULTS[name].items()}
    for key, default in ALL_FAULTS[name].items():
        value = options[key]
        if isinstance(default, bool) and not isinstance(value, bool):
            raise FaultConfigError(f"fault {name!r}: {key} must be true or false")
        if (
            isinstance(default, (int, float))
            and not isinstance(default, bool)
            and (isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0)
        ):
            raise FaultConfigError(f"fault {name!r}: {key} must be a non-negative number")
    _check_bounds(name, options)
    if name == "rate_limit" and options["status"] not in (0, 400, 429):
        raise FaultConfigError("fault 'rate_limit': status must be 400 or 429 (0: the account's style)")
    return FaultRule(
        name=name, probability=float(probability), next=count, endpoints=endpoints, options=options
    )


class FaultInjector:
    """Decides, reproducibly, which faults fire.

    :param seed: seed of the decisions; the same seed and the same events give the same faults.
    """

    def __init__(self, seed: int | None = None) -> None:
        """Start with no faults."""
        self._rng = random.Random(seed)
        self._rules: dict[str, FaultRule] = {}
        self._lock = threading.Lock()

    def configure(self, config: Any) -> None:
        """Replace every rule with ``config`` (an empty object clears them); nothing changes if it is invalid.

        :param config: the JSON configuration.
        :raises FaultConfigError: naming what is wrong.
        """
        if not isinstance(config, dict):
            raise FaultConfigError("the fault configuration must be a JSON object")
        rules = {name: parse_rule(name, spec) for name, spec in config.items()}
        with self._lock:
            self._rules = rules

    def describe(self) -> dict[str, Any]:
        """Return the current rules as JSON."""
        with self._lock:
            return {name: rule.as_dict() for name, rule in self._rules.items()}

    def decide_job(self) -> dict[str, dict[str, Any] | None]:
        """Decide every job fault at once, when the job is accepted (so the order of requests, not of
        completions, decides: runs with the same seed and the same requests get the same faults).
        """
        return {name: self.decide(name) for name in JOB_FAULTS}

    def decide(self, name: str, endpoint: str | None = None) -> dict[str, Any] | None:
        """Return the fault's options if it fires for this event, else ``None``.

        :param name: the fault's name.
        :param endpoint: the request's endpoint (request faults).
        """
        with self._lock:
            rule = self._rules.get(name)
            if rule is None:
                return None
            if rule.endpoints is not None and endpoint not in rule.endpoints:
                return None
            if rule.next > 0:
                rule.next -= 1
            elif rule.probability <= 0 or self._rng.random() >= rule.probability:
                return None
            rule.fired += 1
            return dict(rule.options)
