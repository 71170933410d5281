"""Resource pools and the usage they served."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.core.units import parse_size
from assay.services import pools
from assay.services.context import Ctx

router = APIRouter(tags=["pools"])
Context = Depends(context, scope="function")


def _public(u: pools.PoolUsage) -> s.PoolPublic:
    p = u.pool
    return s.PoolPublic(
        name=p.name,
        backend=p.backend,
        address=p.address,
        cpu=p.cpu,
        memory=p.memory,
        gpu=p.gpu,
        cpu_used=u.cpu_used,
        memory_used=u.memory_used,
        gpu_used=u.gpu_used,
        running=u.running,
        queued=u.queued,
    )


@router.get("/pools", openapi_extra=rule("user"))
def list_(ctx: Ctx = Context) -> list[s.PoolPublic]:
    return [_public(u) for u in pools.usage(ctx.session)]


@router.post("/pools", status_code=201, openapi_extra=rule("admin"))
def create(body: s.PoolCreate, ctx: Ctx = Context) -> s.PoolPublic:
    pool = pools.create(
        ctx,
        body.name,
        body.cpu,
        parse_size(body.memory),
        body.gpu,
        body.backend,
        address=body.address,
    )
    return next(_public(u) for u in pools.usage(ctx.session) if u.pool.id == pool.id)


@router.get("/usage", openapi_extra=rule("user"))
def usage(ctx: Ctx = Context) -> list[dict[str, Any]]:
    """CPU-seconds, GPU-seconds and peak memory per job and user (yours; an admin's: all)."""
    return pools.usage_by_job(ctx)
