"""Resource pools and the usage they served."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends
from sqlalchemy import func, select

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.core.units import parse_size
from assay.db.models import Job, User, Version
from assay.services import pools
from assay.services.context import Ctx

router = APIRouter(tags=["pools"])
Context = Depends(context, scope="function")


def _public(u: pools.PoolUsage) -> s.PoolPublic:
    p = u.pool
    return s.PoolPublic(
        name=p.name,
        backend=p.backend,
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
    pool = pools.create(ctx, body.name, body.cpu, parse_size(body.memory), body.gpu, body.backend)
    return next(_public(u) for u in pools.usage(ctx.session) if u.pool.id == pool.id)


@router.get("/usage", openapi_extra=rule("user"))
def usage(ctx: Ctx = Context) -> list[dict[str, Any]]:
    """CPU-seconds, GPU-seconds and peak memory per job and user (yours; an admin's: all)."""
    q = (
        select(
            User.name,
            Job.name,
            func.count(Version.id),
            func.sum(Version.cpu_seconds),
            func.sum(Version.gpu_seconds),
            func.max(Version.peak_memory),
        )
        .join(Job, Job.id == Version.job_id)
        .join(User, User.id == Job.owner_id)
        .group_by(User.name, Job.name)
        .order_by(User.name, Job.name)
    )
    if not ctx.actor.is_admin:
        q = q.where(Job.owner_id == ctx.actor.id)
    return [
        {
            "user": u,
            "job": j,
            "versions": n,
            "cpuSeconds": round(c or 0.0, 3),
            "gpuSeconds": round(g or 0.0, 3),
            "peakMemory": int(m or 0),
        }
        for u, j, n, c, g, m in ctx.session.execute(q)
    ]
