"""Prometheus metrics of one bridge app (its own registry, so several apps can live in one process)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest

if TYPE_CHECKING:
    from collections.abc import Callable

REJECT_REASONS = (
    "secret",
    "network",
    "too_large",
    "not_json",
    "not_utf8",
    "bad_unicode",
    "too_deep",
    "bad_number",
    "duplicate_key",
    "not_object",
    "no_task_id",
    "bad_task_id",
    "store",
)


@dataclass(frozen=True)
class Counts:
    """
    The counters of this process since it started (what the Mavi page shows).

    :param received: callback POSTs stored, duplicates included.
    :param duplicates: of those, repeats of a stored body.
    :param rejected: POSTs refused, by reason.
    """

    received: int
    duplicates: int
    rejected: dict[str, int]


class BridgeMetrics:
    """
    The bridge's counters, gauges and histograms.

    :param open_waits: returns how many long-polls are waiting now.
    """

    def __init__(self, open_waits: Callable[[], float]) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.received = Counter(
            "mavi_bridge_callbacks_received",
            "Callback POSTs stored (each accepted delivery, duplicates included).",
            registry=self.registry,
        )
        self.duplicates = Counter(
            "mavi_bridge_callbacks_duplicate",
            "Callback POSTs whose identical body was already stored.",
            registry=self.registry,
        )
        self.rejected = Counter(
            "mavi_bridge_callbacks_rejected",
            "Callback POSTs refused, by reason.",
            ["reason"],
            registry=self.registry,
        )
        for reason in REJECT_REASONS:
            self.rejected.labels(reason)
        self.unreadable = Counter(
            "mavi_bridge_records_unreadable",
            "Stored callbacks served escaped because their body could not be served as JSON.",
            registry=self.registry,
        )
        self.open_waits = Gauge("mavi_bridge_open_waits", "Long-polls waiting now.", registry=self.registry)
        self.open_waits.set_function(open_waits)
        self.wake_latency = Histogram(
            "mavi_bridge_wait_wake_seconds",
            "Time from a callback's commit (or its discovery from another replica) to the waiter's answer.",
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5),
            registry=self.registry,
        )
        self.batch_size = Histogram(
            "mavi_bridge_commit_batch_size",
            "Callbacks per store commit (group commit).",
            buckets=(1, 2, 5, 10, 20, 50, 100, 200, 500),
            registry=self.registry,
        )
        self.relayed = Counter(
            "mavi_bridge_relay",
            "Relay attempts to other URLs, by outcome.",
            ["outcome"],
            registry=self.registry,
        )

    def counts(self) -> Counts:
        """Read the counters back from the registry."""

        def value(name: str, labels: dict[str, str] | None = None) -> int:
            return int(self.registry.get_sample_value(name, labels) or 0)

        return Counts(
            received=value("mavi_bridge_callbacks_received_total"),
            duplicates=value("mavi_bridge_callbacks_duplicate_total"),
            rejected={
                reason: value("mavi_bridge_callbacks_rejected_total", {"reason": reason})
                for reason in REJECT_REASONS
            },
        )

    def render(self) -> bytes:
        """Return the Prometheus text exposition."""
        return generate_latest(self.registry)
