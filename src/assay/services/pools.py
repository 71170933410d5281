"""Resource pools: named capacity that versions queue on."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from assay.core.names import check_name
from assay.core.states import State
from assay.db.models import Job, Pool, Task, User, Version
from assay.services.context import Ctx

DEFAULT = "default"
BACKENDS = ("local", "ray")


def machine_capacity() -> tuple[float, int, int]:
    """(CPUs, memory bytes, GPUs) of this machine."""
    cpu = float(len(os.sched_getaffinity(0)))
    memory = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    gpu = 0
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "-L"], capture_output=True, text=True, timeout=10, check=False
            ).stdout
            gpu = sum(1 for line in out.splitlines() if line.startswith("GPU "))
        except (OSError, subprocess.SubprocessError):
            gpu = 0
    return cpu, memory, gpu


def ensure_default(session: Session) -> Pool:
    pool = session.scalar(select(Pool).where(Pool.name == DEFAULT))
    if pool is None:
        cpu, memory, gpu = machine_capacity()
        pool = Pool(name=DEFAULT, backend="local", cpu=cpu, memory=memory, gpu=gpu)
        session.add(pool)
        session.flush()
    return pool


def create(
    ctx: Ctx,
    name: str,
    cpu: float | None,
    memory: int,
    gpu: int,
    backend: str,
    address: str | None = None,
) -> Pool:
    """A pool; ``cpu`` None takes this machine's CPUs (local) or the Ray cluster's (ray)."""
    if not ctx.actor.is_admin:
        raise PermissionDenied("only an admin can create pools")
    check_name(name, "pool")
    if backend not in BACKENDS:
        raise InvalidInput(f"unknown backend {backend!r}: one of {', '.join(BACKENDS)}")
    if backend == "ray":
        from assay.backends.ray import cluster_cpus, normalise_address

        address = normalise_address(address)
        if cpu is None:
            cpu = cluster_cpus(address)
    elif address:
        raise InvalidInput(f"a {backend} pool takes no --address (only ray pools do)")
    elif cpu is None:
        cpu = machine_capacity()[0]
    if cpu <= 0 or memory < 0 or gpu < 0:
        raise InvalidInput("a pool needs a positive CPU count and non-negative memory and GPUs")
    if ctx.session.scalar(select(Pool).where(Pool.name == name)) is not None:
        raise Conflict(f"pool {name!r} already exists")
    pool = Pool(name=name, backend=backend, address=address, cpu=cpu, memory=memory, gpu=gpu)
    ctx.session.add(pool)
    ctx.session.flush()
    return pool


def get(session: Session, name: str) -> Pool:
    pool = session.scalar(select(Pool).where(Pool.name == name))
    if pool is None:
        names = ", ".join(session.scalars(select(Pool.name).order_by(Pool.name)))
        raise NotFound(f"no pool {name!r} (pools: {names or 'none'})")
    return pool


@dataclass(frozen=True)
class PoolUsage:
    pool: Pool
    cpu_used: float
    memory_used: int
    gpu_used: int
    running: int
    queued: int


def usage(session: Session) -> list[PoolUsage]:
    """Capacity, what running tasks hold (each its version's request), the number of versions
    running and queuing, of every pool (three queries)."""
    held = {
        pid: (cpu or 0.0, mem or 0, gpu or 0, n)
        for pid, cpu, mem, gpu, n in session.execute(
            select(
                Version.pool_id,
                func.sum(Version.cpu),
                func.sum(Version.memory),
                func.sum(Version.gpu),
                func.count(func.distinct(Version.id)),
            )
            .join(Task, Task.version_id == Version.id)
            .where(Task.state == State.RUNNING)
            .group_by(Version.pool_id)
        )
    }
    queued = dict(
        session.execute(
            select(Version.pool_id, func.count())
            .where(Version.state.in_([State.QUEUING, State.CREATING]))
            .group_by(Version.pool_id)
        ).all()
    )
    out = []
    for pool in session.scalars(select(Pool).order_by(Pool.name)):
        cpu, mem, gpu, n = held.get(pool.id, (0.0, 0, 0, 0))
        out.append(
            PoolUsage(pool, float(cpu), int(mem), int(gpu), int(n), int(queued.get(pool.id, 0)))
        )
    return out


def fits_at_all(pool: Pool, cpu: float, memory: int, gpu: int) -> None:
    """Refuse a request larger than the pool's whole capacity: it would queue forever."""
    if cpu <= 0:
        raise InvalidInput("a version needs a positive CPU request (--cpu)")
    if memory < 0 or gpu < 0:
        raise InvalidInput("memory and GPU requests cannot be negative")
    for what, asked, has in (
        ("CPUs", cpu, pool.cpu),
        ("bytes of memory", memory, pool.memory),
        ("GPUs", gpu, pool.gpu),
    ):
        if asked > has:
            raise InvalidInput(
                f"the version asks for {asked:g} {what} but pool {pool.name!r} "
                f"has {has:g} in all; ask for less or use a larger pool"
            )


def get_by_id(session: Session, pool_id: str) -> Pool:
    pool = session.get(Pool, pool_id)
    if pool is None:
        raise NotFound(f"no pool with ID {pool_id!r}")
    return pool


def usage_by_job(ctx: Ctx) -> list[dict[str, Any]]:
    """CPU-seconds, GPU-seconds and peak memory per user and job (the caller's; an admin's:
    everyone's), in one grouped query."""
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
