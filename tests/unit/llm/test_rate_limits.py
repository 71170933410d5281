"""The sliding-window limits: never more requests or tokens in a window than allowed."""

from __future__ import annotations

import asyncio
import time

from assay.evaluators.llm.client import RateLimiter


def _sends(limiter: RateLimiter, n: int, tokens: int) -> list[float]:
    async def go() -> list[float]:
        times: list[float] = []

        async def one() -> None:
            await limiter.wait(tokens)
            times.append(time.monotonic())

        await asyncio.gather(*(one() for _ in range(n)))
        return sorted(times)

    return asyncio.run(go())


def _most_in_a_window(times: list[float], window: float) -> int:
    return max(sum(1 for u in times if t <= u < t + window) for t in times)


def test_requests_per_window_are_capped() -> None:
    times = _sends(RateLimiter(rpm=3, tpm=None, window=0.3), 9, 1)
    assert len(times) == 9
    assert _most_in_a_window(times, 0.29) <= 3  # a little under the window: clock slack
    assert times[-1] - times[0] >= 0.6  # nine requests need three windows


def test_tokens_per_window_are_capped() -> None:
    times = _sends(RateLimiter(rpm=None, tpm=100, window=0.3), 6, 40)
    assert _most_in_a_window(times, 0.29) <= 2  # 2 x 40 fits in 100; 3 x 40 does not


def test_no_limits_means_no_waiting() -> None:
    limiter = RateLimiter(rpm=None, tpm=None)
    assert len(_sends(limiter, 100, 10)) == 100 and not limiter.sent
