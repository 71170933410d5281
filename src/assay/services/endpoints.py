"""Inference endpoints: OpenAI-compatible servers that llm jobs evaluate (and judge with).

An endpoint's API key is kept server-side for the workers of its owner's jobs; no response
carries it (``has_api_key`` says whether one is set).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import select

from assay.core import netguard
from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.names import check_name
from assay.core.refs import parse_ref
from assay.db.models import Endpoint
from assay.services import hub
from assay.services.context import Ctx

MAX_CONCURRENCY = 4096


@dataclass(frozen=True)
class EndpointSpec:
    base_url: str
    model: str
    api_key: str | None = None
    max_concurrency: int = 32
    rpm: int | None = None
    tpm: int | None = None
    price_input: float = 0.0
    price_output: float = 0.0
    batch: bool = False
    model_ref: str | None = None


def check_base_url(url: str) -> str:
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise InvalidInput(
            f"base URL {url!r} is not an http(s) URL; give the API root, "
            "e.g. http://127.0.0.1:8000/v1"
        )
    if parts.query or parts.fragment:
        raise InvalidInput(f"base URL {url!r} must not carry a query or fragment")
    return url.rstrip("/")


def create(ctx: Ctx, name: str, spec: EndpointSpec) -> Endpoint:
    check_name(name, "endpoint")
    base_url = check_base_url(spec.base_url)
    if guarded(ctx.actor.is_admin, ctx.embedded):
        netguard.check_url(base_url, netguard.networks(ctx.settings.allowed_networks))
    if not spec.model or len(spec.model) > 256:
        raise InvalidInput("--model must name the model the endpoint serves (1-256 characters)")
    if not 1 <= spec.max_concurrency <= MAX_CONCURRENCY:
        raise InvalidInput(f"max concurrency must be from 1 to {MAX_CONCURRENCY}")
    for label, value in (("rpm", spec.rpm), ("tpm", spec.tpm)):
        if value is not None and value < 1:
            raise InvalidInput(f"--{label} must be a positive whole number")
    for label, price in (("price-input", spec.price_input), ("price-output", spec.price_output)):
        if not 0 <= price < 1e9:
            raise InvalidInput(f"--{label} must be a non-negative price in USD per 1M tokens")
    if spec.api_key is not None and not 0 < len(spec.api_key) <= 4096:
        raise InvalidInput("the API key must be 1-4096 characters")
    resolved = (
        hub.resolve(ctx, parse_ref(spec.model_ref, type_hint="model")) if spec.model_ref else None
    )
    if (
        ctx.session.scalar(
            select(Endpoint).where(Endpoint.owner_id == ctx.actor.id, Endpoint.name == name)
        )
        is not None
    ):
        raise Conflict(f"endpoint {name!r} already exists; delete it first to change it")
    endpoint = Endpoint(
        owner_id=ctx.actor.id,
        name=name,
        base_url=base_url,
        model=spec.model,
        api_key=spec.api_key,
        max_concurrency=spec.max_concurrency,
        rpm=spec.rpm,
        tpm=spec.tpm,
        price_input=spec.price_input,
        price_output=spec.price_output,
        batch=spec.batch,
        model_ref=spec.model_ref if resolved else None,
        model_asset_id=resolved.info.asset.id if resolved else None,
        model_commit_id=resolved.commit.id if resolved else None,
    )
    ctx.session.add(endpoint)
    ctx.session.flush()
    return endpoint


def get(ctx: Ctx, name: str) -> Endpoint:
    endpoint = ctx.session.scalar(
        select(Endpoint).where(
            Endpoint.owner_id == ctx.actor.id, Endpoint.name == check_name(name, "endpoint")
        )
    )
    if endpoint is None:
        raise NotFound(
            f"no endpoint {name!r}; register it with `assay create endpoint {name} "
            "--base-url URL --model MODEL`"
        )
    return endpoint


def list_(ctx: Ctx) -> list[Endpoint]:
    return list(
        ctx.session.scalars(
            select(Endpoint).where(Endpoint.owner_id == ctx.actor.id).order_by(Endpoint.name)
        )
    )


def delete(ctx: Ctx, name: str) -> Endpoint:
    endpoint = get(ctx, name)
    ctx.session.delete(endpoint)
    ctx.session.flush()
    return endpoint


def guarded(admin: bool, embedded: bool) -> bool:
    """Whether an endpoint's owner is held to ordinary addresses (``core/netguard``): not
    an admin, nor the user of their own embedded instance."""
    return not (admin or embedded)


def worker_config(endpoint: Endpoint, *, guard: bool, allowed: str) -> dict[str, Any]:
    """What a worker needs to call the endpoint, key included: only for the task's env."""
    return {
        "guarded": guard,
        "allowed_networks": [n for n in allowed.split(",") if n.strip()] if guard else [],
        "name": endpoint.name,
        "base_url": endpoint.base_url,
        "model": endpoint.model,
        "api_key": endpoint.api_key,
        "max_concurrency": endpoint.max_concurrency,
        "rpm": endpoint.rpm,
        "tpm": endpoint.tpm,
        "price_input": endpoint.price_input,
        "price_output": endpoint.price_output,
        "batch": endpoint.batch,
    }
