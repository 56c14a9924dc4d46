"""Rate limits shared by every server process through Redis (MAKEGOOD_REDIS_URL), and the
per-process limiter of the embedded default."""

from __future__ import annotations

import asyncio
import os
import uuid

import pytest

from makegood.adapters.ratelimit import Limited, LocalRateLimiter, RedisRateLimiter
from makegood.domain.errors import TooManyAttempts

REDIS_URL = os.environ.get("MAKEGOOD_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")


def _redis_or_skip() -> None:
    import redis

    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"Redis at {REDIS_URL} is unreachable: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} is unreachable: {exc}")


def test_two_processes_share_one_bucket_through_redis() -> None:
    _redis_or_skip()
    prefix = f"test:{uuid.uuid4().hex}:"
    first = RedisRateLimiter(REDIS_URL, 4, prefix=prefix)   # two server workers
    second = RedisRateLimiter(REDIS_URL, 4, prefix=prefix)
    first.take("198.51.100.7")
    second.take("198.51.100.7")
    first.take("198.51.100.7")
    second.take("198.51.100.7")
    with pytest.raises(Limited) as caught:
        first.take("198.51.100.7")
    assert caught.value.retry_after >= 1
    assert isinstance(caught.value, TooManyAttempts)
    second.take("198.51.100.8")  # another address has its own bucket


def test_the_async_path_takes_from_the_same_bucket() -> None:
    _redis_or_skip()
    prefix = f"test:{uuid.uuid4().hex}:"
    sync = RedisRateLimiter(REDIS_URL, 2, prefix=prefix)
    sync.take("c")

    async def go() -> None:
        limiter = RedisRateLimiter(REDIS_URL, 2, prefix=prefix)
        await limiter.take_async("c")
        with pytest.raises(Limited):
            await limiter.take_async("c")
        await limiter.aclose()

    asyncio.run(go())


def test_an_unreachable_redis_lets_requests_through() -> None:
    limiter = RedisRateLimiter("redis://127.0.0.1:1/0", 1)
    for _ in range(3):
        limiter.take("c")  # logged, not refused


def test_the_local_limiter_refuses_over_the_rate() -> None:
    limiter = LocalRateLimiter(2)
    limiter.take("c")
    limiter.take("c")
    with pytest.raises(Limited):
        limiter.take("c")
