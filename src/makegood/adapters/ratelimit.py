"""Rate limits per client address: a token bucket of ``per_minute`` requests, refilled continuously.

:class:`LocalRateLimiter` keeps the buckets in the server process: right for one worker (the
embedded default). With several workers or servers, each would grant the full rate, so a client
spread over them gets several times its limit; :class:`RedisRateLimiter` keeps the buckets in
Redis (``MAKEGOOD_REDIS_URL``), one atomic script per request, shared by every process.

When Redis cannot be reached the request is let through and the failure logged: in the week after
an outage, refusing every claimant because the limiter's store is down is the worse failure.
"""

from __future__ import annotations

import logging
import threading
import time
from typing import Any, Protocol

from makegood.domain.errors import TooManyAttempts

log = logging.getLogger("makegood.ratelimit")


class Limited(TooManyAttempts):
    """Over the limit; ``retry_after`` seconds until a request is allowed again."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(f"too many requests from this address; retry in {retry_after} s",
                         retry_after=retry_after)


class RateLimiter(Protocol):
    def take(self, client: str) -> None:
        """Take one request from ``client``'s bucket, or raise :class:`Limited`."""

    async def take_async(self, client: str) -> None:
        """:meth:`take` without blocking the event loop."""


class LocalRateLimiter:
    """Buckets in this process (one server worker)."""

    def __init__(self, per_minute: int) -> None:
        self.rate = per_minute / 60.0
        self.capacity = float(max(per_minute, 1))
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def take(self, client: str) -> None:
        if self.rate <= 0:
            return
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.get(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            if tokens < 1:
                self._buckets[client] = (tokens, now)
                raise Limited(int((1 - tokens) / self.rate) + 1)
            self._buckets[client] = (tokens - 1, now)
            if len(self._buckets) > 100_000:  # forget idle clients rather than grow forever
                self._buckets = {k: v for k, v in self._buckets.items() if now - v[1] < 120}

    async def take_async(self, client: str) -> None:
        self.take(client)


# KEYS[1] the bucket; ARGV rate per second, capacity. Redis's own clock, so every server agrees.
_BUCKET = """
local rate = tonumber(ARGV[1])
local capacity = tonumber(ARGV[2])
local clock = redis.call('TIME')
local now = tonumber(clock[1]) + tonumber(clock[2]) / 1000000
local found = redis.call('HMGET', KEYS[1], 't', 'ts')
local tokens = tonumber(found[1]) or capacity
local last = tonumber(found[2]) or now
tokens = math.min(capacity, tokens + math.max(0, now - last) * rate)
local wait = 0
if tokens < 1 then
  wait = math.floor((1 - tokens) / rate) + 1
else
  tokens = tokens - 1
end
redis.call('HSET', KEYS[1], 't', tostring(tokens), 'ts', tostring(now))
redis.call('EXPIRE', KEYS[1], math.ceil(capacity / rate) + 60)
return wait
"""


class RedisRateLimiter:
    """Buckets in Redis, shared by every worker and server."""

    def __init__(self, url: str, per_minute: int, *, prefix: str = "makegood:rate:") -> None:
        import redis
        import redis.asyncio

        self.rate = per_minute / 60.0
        self.capacity = max(per_minute, 1)
        self.prefix = prefix
        self._sync: Any = redis.Redis.from_url(url, socket_timeout=0.5,
                                               socket_connect_timeout=0.5)
        self._async: Any = redis.asyncio.Redis.from_url(url, socket_timeout=0.5,
                                                        socket_connect_timeout=0.5)
        self._script = self._sync.register_script(_BUCKET)
        self._script_async = self._async.register_script(_BUCKET)

    def _check(self, wait: Any) -> None:
        if int(wait) > 0:
            raise Limited(int(wait))

    def take(self, client: str) -> None:
        if self.rate <= 0:
            return
        import redis

        try:
            wait = self._script(keys=[self.prefix + client], args=[self.rate, self.capacity])
        except redis.RedisError as exc:
            log.error("rate limit store unreachable, request let through: %s", exc)
            return
        self._check(wait)

    async def take_async(self, client: str) -> None:
        if self.rate <= 0:
            return
        import redis

        try:
            wait = await self._script_async(keys=[self.prefix + client],
                                            args=[self.rate, self.capacity])
        except redis.RedisError as exc:
            log.error("rate limit store unreachable, request let through: %s", exc)
            return
        self._check(wait)

    async def aclose(self) -> None:
        await self._async.aclose()
        self._sync.close()


def rate_limiter(per_minute: int, redis_url: str | None) -> RateLimiter:
    """The shared limiter when Redis is configured, else this process's own."""
    if redis_url:
        return RedisRateLimiter(redis_url, per_minute)
    return LocalRateLimiter(per_minute)
