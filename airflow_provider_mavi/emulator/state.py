"""Everything one running emulator (one Mavi account) holds, shared by its routes and jobs."""

from __future__ import annotations

import asyncio
import contextlib
import random
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from airflow_provider_mavi.emulator.callbacks import CallbackSender
from airflow_provider_mavi.emulator.faults import FaultInjector
from airflow_provider_mavi.emulator.ratelimit import SlidingWindowLimiter
from airflow_provider_mavi.emulator.stats import Stats
from airflow_provider_mavi.emulator.store import AssetStore

if TYPE_CHECKING:
    from collections.abc import Callable, Coroutine

    from airflow_provider_mavi.emulator.settings import EmulatorSettings

T = TypeVar("T")


class EmulatorState:
    """The account: settings, assets, counters, faults, limiter, worker pool and callback sender.

    :param settings: the instance's settings.
    """

    def __init__(self, settings: EmulatorSettings) -> None:
        """Build every part; the data folder is a temporary one (removed at close) when none is set."""
        self.settings = settings
        self._own_dir = settings.data_dir is None
        root = (
            Path(tempfile.mkdtemp(prefix="mavi-emulator-"))
            if settings.data_dir is None
            else settings.data_dir
        )
        self.rng = random.Random(settings.seed)
        self.store = AssetStore(root, self.rng)
        self.stats = Stats()
        self.faults = FaultInjector(None if settings.seed is None else settings.seed + 1)
        self.faults.configure(settings.faults)
        self.limiter = SlidingWindowLimiter(settings.qps)
        self.webhook_url: str | None = settings.webhook_url
        self.executor = ThreadPoolExecutor(max_workers=settings.workers, thread_name_prefix="mavi-emulator")
        self.sender = CallbackSender(settings, self.stats, lambda: self.webhook_url)
        self.root_url = "http://127.0.0.1"  # as the last API request addressed this server (gate.py)
        self.signed_uploads: dict[str, tuple[str, float]] = {}  # token -> (asset id, monotonic expiry)
        self._tasks: set[asyncio.Task[Any]] = set()

    async def run_blocking(self, func: Callable[..., T], *args: Any) -> T:
        """Run blocking media work in the worker pool, off the event loop.

        :param func: the function.
        :param args: its arguments.
        """
        return await asyncio.get_running_loop().run_in_executor(self.executor, func, *args)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a background coroutine (an upload's progress, a job), keeping a reference until it ends.

        :param coro: the coroutine.
        """
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def remaining_usd(self) -> float | None:
        """Return the credit left, or ``None`` when the balance is unlimited."""
        if self.settings.balance_usd is None:
            return None
        return self.settings.balance_usd - self.stats.spend_usd

    def can_afford(self, cost: float) -> bool:
        """Say whether the account may start something that costs ``cost`` dollars.

        :param cost: the known cost (0 when only known afterwards).
        """
        remaining = self.remaining_usd()
        return remaining is None or (remaining > 0 and remaining >= cost)

    def charge(self, job: dict[str, Any], cost: float) -> None:
        """Add a job's cost to the account's spend and to the job's ``cost_usd``.

        :param job: the job's stats record.
        :param cost: dollars (0 for endpoints whose price is not documented).
        """
        self.stats.spend(cost, job)

    async def close(self) -> None:
        """Stop background work, the HTTP client and the pool; remove a temporary data folder."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await self.sender.close()
        self.executor.shutdown(wait=True, cancel_futures=True)
        if self._own_dir:
            shutil.rmtree(self.store.root, ignore_errors=True)
