"""Runtimes: named, versioned environments jobs run in (a requirements file and a Python
version). ``assay create runtime NAME --requirements FILE`` adds version N+1 of NAME (or
returns the latest when nothing changed); a job names ``NAME`` (the latest version then) or
``NAME:N``, and each of its versions records the exact runtime version it runs in.

Building the environment is the backend's business (the local one: a cached virtual
environment per runtime version, ``worker/runtime_env.py``), never the server's.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.names import check_name
from assay.db.models import Job, Runtime, RuntimeVersion, Version
from assay.services.context import Ctx

MAX_REQUIREMENTS = 64 * 1024
_PYTHON = re.compile(r"^3\.\d{1,2}$")
_REF = re.compile(r"^(?P<name>[^:]+)(?::(?P<number>\d{1,9}))?$")


def _key(python: str | None, requirements: str) -> str:
    return hashlib.sha256(f"{python or ''}\n{requirements}".encode()).hexdigest()


def _check(requirements: str, python: str | None) -> str:
    if len(requirements.encode()) > MAX_REQUIREMENTS:
        raise InvalidInput(f"the requirements file is larger than {MAX_REQUIREMENTS} bytes")
    if "\x00" in requirements:
        raise InvalidInput("the requirements file is not text")
    if not any(
        line.strip() and not line.lstrip().startswith("#") for line in requirements.splitlines()
    ):
        raise InvalidInput("the requirements file names no package")
    if python is not None and not _PYTHON.match(python):
        raise InvalidInput(f"--python must be a version like 3.11, not {python!r}")
    return requirements.replace("\r\n", "\n")


def create(
    ctx: Ctx, name: str, requirements: str, python: str | None
) -> tuple[RuntimeVersion, bool]:
    """The runtime's new version (True), or its latest when that has the same contents."""
    check_name(name, "runtime")
    requirements = _check(requirements, python)
    runtime = ctx.session.scalar(
        select(Runtime)
        .where(Runtime.owner_id == ctx.actor.id, Runtime.name == name)
        .with_for_update()  # numbering: one writer at a time per runtime (PostgreSQL)
    )
    if runtime is None:
        runtime = Runtime(owner_id=ctx.actor.id, name=name)
        ctx.session.add(runtime)
        ctx.session.flush()
    latest = _latest(ctx, runtime)
    key = _key(python, requirements)
    if latest is not None and latest.key == key:
        return latest, False
    version = RuntimeVersion(
        runtime_id=runtime.id,
        number=(latest.number + 1) if latest else 1,
        python=python,
        requirements=requirements,
        key=key,
    )
    ctx.session.add(version)
    ctx.session.flush()
    return version, True


def _latest(ctx: Ctx, runtime: Runtime) -> RuntimeVersion | None:
    return ctx.session.scalar(
        select(RuntimeVersion)
        .where(RuntimeVersion.runtime_id == runtime.id)
        .order_by(RuntimeVersion.number.desc())
        .limit(1)
    )


def _runtime(ctx: Ctx, name: str) -> Runtime:
    found = ctx.session.scalar(
        select(Runtime).where(Runtime.owner_id == ctx.actor.id, Runtime.name == name)
    )
    if found is None:
        raise NotFound(f"runtime {name!r} not found (see `assay ls runtime`)")
    return found


def resolve(ctx: Ctx, ref: str) -> RuntimeVersion:
    """``NAME`` (its latest version) or ``NAME:N``."""
    m = _REF.match(ref or "")
    if m is None:
        raise InvalidInput(f"runtime {ref!r}: expected NAME or NAME:VERSION (e.g. torch-2.9:2)")
    runtime = _runtime(ctx, m.group("name"))
    if m.group("number") is None:
        latest = _latest(ctx, runtime)
        assert latest is not None  # a runtime is created with its first version
        return latest
    found = ctx.session.scalar(
        select(RuntimeVersion).where(
            RuntimeVersion.runtime_id == runtime.id,
            RuntimeVersion.number == int(m.group("number")),
        )
    )
    if found is None:
        raise NotFound(f"runtime {runtime.name!r} has no version {m.group('number')}")
    return found


def refs_of(session: Session, version_ids: set[str]) -> dict[str, str]:
    """``NAME:N`` of each runtime version, in one query."""
    if not version_ids:
        return {}
    rows = session.execute(
        select(RuntimeVersion.id, Runtime.name, RuntimeVersion.number)
        .join(Runtime, RuntimeVersion.runtime_id == Runtime.id)
        .where(RuntimeVersion.id.in_(version_ids))
    ).all()
    return {vid: f"{name}:{number}" for vid, name, number in rows}


def spec_of(session: Session, version_id: str) -> dict[str, Any]:
    """What a worker needs to build or find the environment."""
    found = session.get(RuntimeVersion, version_id)
    assert found is not None
    return {
        "ref": refs_of(session, {version_id})[version_id],
        "key": found.key,
        "python": found.python,
        "requirements": found.requirements,
    }


def list_(ctx: Ctx) -> list[dict[str, Any]]:
    rows = ctx.session.execute(
        select(Runtime, RuntimeVersion)
        .join(RuntimeVersion, RuntimeVersion.runtime_id == Runtime.id)
        .where(Runtime.owner_id == ctx.actor.id)
        .order_by(Runtime.name, RuntimeVersion.number)
    ).all()
    out: dict[str, dict[str, Any]] = {}
    for runtime, version in rows:
        entry = out.setdefault(runtime.name, {"name": runtime.name, "versions": []})
        entry["versions"].append(public(runtime, version))
    return list(out.values())


def public(runtime: Runtime, version: RuntimeVersion) -> dict[str, Any]:
    return {
        "name": runtime.name,
        "version": version.number,
        "ref": f"{runtime.name}:{version.number}",
        "python": version.python,
        "requirements": version.requirements,
        "createdAt": version.created_at.isoformat(),
    }


def delete(ctx: Ctx, name: str) -> None:
    """Delete a runtime no job version runs in."""
    runtime = _runtime(ctx, name)
    users = ctx.session.execute(
        select(Job.name, Version.number)
        .join(Version, Version.job_id == Job.id)
        .join(RuntimeVersion, RuntimeVersion.id == Version.runtime_version_id)
        .where(RuntimeVersion.runtime_id == runtime.id)
        .order_by(Job.name, Version.number)
        .limit(5)
    ).all()
    if users:
        shown = ", ".join(f"{j}:V{n:04d}" for j, n in users)
        count = ctx.session.scalar(
            select(func.count())
            .select_from(Version)
            .join(RuntimeVersion, RuntimeVersion.id == Version.runtime_version_id)
            .where(RuntimeVersion.runtime_id == runtime.id)
        )
        raise Conflict(
            f"runtime {name!r} is used by {count} job version(s) ({shown}); delete those first"
        )
    ctx.session.delete(runtime)
    ctx.session.flush()
