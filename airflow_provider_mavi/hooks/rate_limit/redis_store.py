"""The Redis store: every worker and triggerer of the cluster shares the buckets of one Redis server.

One key per bucket, ``mavi:ratelimit:<account hash>:<bucket>``, holds its theoretical arrival time in
microseconds. A Lua script reads Redis's own clock (``TIME``), moves the bucket on and answers the relative
wait, atomically; the key expires a minute after its schedule runs out. Needs Redis 5 or newer (a script
that writes after ``TIME``) and the ``redis`` client (``pip install 'airflow-provider-mavi[redis]'``).
"""

from __future__ import annotations

from typing import Any

from airflow_provider_mavi.exceptions import MaviRateLimitStoreError
from airflow_provider_mavi.hooks.rate_limit.names import redact_url
from airflow_provider_mavi.hooks.rate_limit.stores import store_error

KEY_PREFIX = "mavi:ratelimit:"
_RESERVE = """
local clock = redis.call('TIME')
local now = tonumber(clock[1]) * 1000000 + tonumber(clock[2])
local start = math.max(tonumber(redis.call('GET', KEYS[1]) or '0'), now)
local tat = start + tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.0f', tat), 'PX', math.floor((tat - now) / 1000) + 60000)
return start - now
"""
#: Seconds to wait for a connection, and for an answer, before the store counts as down.
CONNECT_TIMEOUT = 5.0
ANSWER_TIMEOUT = 10.0


class RedisPermitStore:
    """Buckets in Redis (the server's clock).

    :param url: ``redis://[user:password@]host:port/db`` or ``rediss://`` (TLS).
    """

    def __init__(self, url: str) -> None:
        self.description = redact_url(url)
        self._url = url
        try:
            import redis
        except ImportError:
            raise MaviRateLimitStoreError(
                f"rate_limit_url {self.description} needs the redis client: "
                "pip install 'airflow-provider-mavi[redis]'."
            ) from None
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        try:
            self._client = redis.Redis.from_url(
                url, socket_connect_timeout=CONNECT_TIMEOUT, socket_timeout=ANSWER_TIMEOUT
            )
        except (ValueError, *self._errors) as error:
            raise store_error(self.description, error, url) from None
        self._script: Any = self._client.register_script(_RESERVE)

    def reserve(self, key: str, interval_us: int, count: int) -> float:
        """Reserve the next ``count`` slots of ``key`` (see :class:`~.stores.PermitStore`).

        :param key: the bucket's key.
        :param interval_us: microseconds between two slots.
        :param count: slots to reserve.
        """
        try:
            wait_us = self._script(keys=[KEY_PREFIX + key], args=[interval_us * count])
        except self._errors as error:
            raise store_error(self.description, error, self._url) from None
        return max(0, int(wait_us)) / 1_000_000
