"""Calling an OpenAI-compatible chat endpoint: bounded concurrency, requests- and
tokens-per-minute limits, retries with exponential backoff and jitter (honouring
``Retry-After``) on 429, 5xx, timeouts and dropped connections, and a reply cache.

aiohttp is used rather than the openai client (or httpx, which it wraps): at hundreds of
requests per second httpx's connection pool and its per-request async-library probing cost
~15 ms of CPU per request (measured), aiohttp's a fraction of one; and the retry policy
(whose requests a test server counts) is ours.
"""

from __future__ import annotations

import asyncio
import hashlib
import ipaddress
import json
import os
import random
import socket
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.abc import AbstractResolver, ResolveResult

from assay.core import netguard
from assay.core.errors import AssayError


class EndpointRefused(AssayError):
    """The endpoint refuses us as a whole (bad key, unreachable): stop, do not retry."""


class NotSent(Exception):
    """The caller's ``allow()`` said no when the request's turn came (a spent budget)."""


@dataclass
class Reply:
    text: str
    prompt_tokens: int
    completion_tokens: int
    latency: float  # seconds of the request that succeeded
    attempts: int
    cached: bool = False


@dataclass(frozen=True)
class EndpointConfig:
    name: str
    base_url: str
    model: str
    api_key: str | None = None
    max_concurrency: int = 32
    rpm: int | None = None
    tpm: int | None = None
    price_input: float = 0.0
    price_output: float = 0.0
    batch: bool = False
    # Registered by a user who may not point at special addresses (see core/netguard): every
    # connection is checked, the networks an admin allowed excepted.
    guarded: bool = False
    allowed_networks: tuple[str, ...] = ()

    def check_target(self) -> None:
        """Refuse now if the endpoint's host is a special address it may not use."""
        if self.guarded:
            netguard.check_url(self.base_url, self.allowed())

    def allowed(self) -> list[netguard.Network]:
        return netguard.networks(",".join(self.allowed_networks))

    def cost(self, prompt_tokens: int, completion_tokens: int) -> float:
        return (prompt_tokens * self.price_input + completion_tokens * self.price_output) / 1e6


class GuardedResolver(AbstractResolver):
    """aiohttp's resolver, refusing special addresses: a name that resolved to an ordinary
    address at registration may not be pointed at the metadata service later."""

    def __init__(self, allowed: list[netguard.Network]) -> None:
        self.inner = aiohttp.ThreadedResolver()
        self.allowed = allowed

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        found = await self.inner.resolve(host, port, family)
        reason = netguard.refusal(
            host, (ipaddress.ip_address(r["host"]) for r in found), self.allowed
        )
        if reason:
            raise OSError(reason)
        return found

    async def close(self) -> None:
        await self.inner.close()


def approx_tokens(messages: list[dict[str, str]]) -> int:
    """A tokenizer-free estimate: about four characters per token, plus four per message."""
    return sum(len(m["content"]) // 4 + 4 for m in messages)


class RateLimiter:
    """Sliding one-minute windows of requests and (estimated) tokens."""

    def __init__(self, rpm: int | None, tpm: int | None, window: float = 60.0) -> None:
        self.rpm, self.tpm, self.window = rpm, tpm, window
        self.sent: deque[tuple[float, int]] = deque()
        self.tokens = 0
        self.lock = asyncio.Lock()

    async def wait(self, tokens: int) -> None:
        if self.rpm is None and self.tpm is None:
            return
        async with self.lock:
            while True:
                now = time.monotonic()
                while self.sent and self.sent[0][0] <= now - self.window:
                    self.tokens -= self.sent.popleft()[1]
                rpm_ok = self.rpm is None or len(self.sent) < self.rpm
                tpm_ok = self.tpm is None or not self.sent or self.tokens + tokens <= self.tpm
                if rpm_ok and tpm_ok:
                    self.sent.append((now, tokens))
                    self.tokens += tokens
                    return
                await asyncio.sleep(max(self.sent[0][0] + self.window - now, 0.01))


class Cache:
    """Replies by a hash of (endpoint URL, model, messages, generation parameters), one small
    file each, written atomically: a retried task or a restarted version finds them."""

    def __init__(self, root: Path | None) -> None:
        self.root = root

    @staticmethod
    def key(config: EndpointConfig, messages: Any, generation: dict[str, Any]) -> str:
        blob = json.dumps([config.base_url, config.model, messages, generation], sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()

    def get(self, key: str) -> Reply | None:
        if self.root is None:
            return None
        try:
            data = json.loads((self.root / key[:2] / key).read_text())
        except (OSError, ValueError):
            return None
        return Reply(**{**data, "cached": True})

    def put(self, key: str, reply: Reply) -> None:
        if self.root is None:
            return
        folder = self.root / key[:2]
        folder.mkdir(parents=True, exist_ok=True)
        tmp = folder / f".{key}.{os.getpid()}"
        tmp.write_text(
            json.dumps(
                {
                    "text": reply.text,
                    "prompt_tokens": reply.prompt_tokens,
                    "completion_tokens": reply.completion_tokens,
                    "latency": reply.latency,
                    "attempts": reply.attempts,
                }
            )
        )
        os.replace(tmp, folder / key)


class ChatClient:
    def __init__(
        self,
        config: EndpointConfig,
        *,
        concurrency: int,
        timeout: float,
        retries: int,
        cache: Cache,
    ) -> None:
        self.config = config
        self.gate = asyncio.Semaphore(concurrency)
        self.limiter = RateLimiter(config.rpm, config.tpm)
        self.retries = retries
        self.cache = cache
        self.headers = {"Authorization": f"Bearer {config.api_key}"} if config.api_key else {}
        self.timeout = timeout
        self.concurrency = concurrency
        self.url = f"{config.base_url}/chat/completions"
        self._session: aiohttp.ClientSession | None = None
        self.requests = 0  # sent, retries included

    def _http(self) -> aiohttp.ClientSession:
        # Made on first use, inside the running event loop, as aiohttp requires.
        if self._session is None:
            resolver = GuardedResolver(self.config.allowed()) if self.config.guarded else None
            self._session = aiohttp.ClientSession(
                headers=self.headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                connector=aiohttp.TCPConnector(
                    limit=self.concurrency, limit_per_host=0, resolver=resolver
                ),
            )
        return self._session

    async def close(self) -> None:
        if self._session is not None:
            await self._session.close()

    async def chat(
        self,
        messages: list[dict[str, str]],
        generation: dict[str, Any],
        allow: Callable[[], bool] | None = None,
    ) -> Reply:
        """The reply, from the cache or the endpoint. ``allow`` is asked just before each
        request goes out (after waiting for a slot), so a budget is checked when it counts."""
        key = self.cache.key(self.config, messages, generation)
        found = self.cache.get(key)
        if found is not None:
            return found
        body = {"model": self.config.model, "messages": messages, **generation}
        estimate = approx_tokens(messages) + int(generation.get("max_tokens", 0))
        url = f"{self.config.base_url}/chat/completions"
        attempt = 0
        while True:
            attempt += 1
            await self.limiter.wait(estimate)
            delay: float | None = None
            async with self.gate:
                if allow is not None and not allow():
                    raise NotSent
                started = time.monotonic()
                self.requests += 1
                try:
                    async with self._http().post(
                        self.url, json=body, allow_redirects=False
                    ) as response:
                        status = response.status
                        text = await response.text()
                        delay = _retry_after(response.headers.get("retry-after"))
                except TimeoutError:
                    problem = f"timed out after {self.timeout}s"
                except aiohttp.ClientError as exc:
                    problem = f"connection failed ({type(exc).__name__}: {exc})"
                    if attempt > min(self.retries, 2):
                        raise EndpointRefused(f"cannot reach {url}: {exc}") from None
                else:
                    latency = time.monotonic() - started
                    if status in (401, 403):
                        raise EndpointRefused(
                            f"{url} answered {status}: check the endpoint's API key"
                        )
                    if 300 <= status < 400:  # a redirect could lead anywhere: never followed
                        raise EndpointRefused(
                            f"{url} answered {status}, a redirect; redirects are not "
                            "followed: register the endpoint's final URL"
                        )
                    if status == 200:
                        reply = _parse(text, latency, attempt)
                        self.cache.put(key, reply)
                        return reply
                    problem = f"HTTP {status}: {text[:200]}"
                    if status != 429 and status < 500:
                        raise ValueError(problem)  # this sample is wrong; others may be fine
            if attempt > self.retries:
                raise ValueError(f"{problem} (gave up after {attempt} attempts)")
            if delay is None:
                delay = min(0.5 * 2 ** (attempt - 1), 30.0)
                delay += random.uniform(0, delay)
            await asyncio.sleep(delay)


def _retry_after(value: str | None) -> float | None:
    try:
        return min(max(float(value), 0.0), 60.0) if value is not None else None
    except ValueError:
        return None


def _parse(text: str, latency: float, attempts: int) -> Reply:
    try:
        data = json.loads(text)
        content = data["choices"][0]["message"]["content"]
    except (ValueError, KeyError, IndexError, TypeError):
        raise ValueError(f"the reply has no choices[0].message.content: {text[:200]!r}") from None
    if not isinstance(content, str):
        raise ValueError("the reply's message content is not text")
    usage = data.get("usage") or {}
    return Reply(
        text=content,
        prompt_tokens=int(usage.get("prompt_tokens") or 0),
        completion_tokens=int(usage.get("completion_tokens") or 0),
        latency=latency,
        attempts=attempts,
    )
