"""Evaluation jobs, their versions, tasks and logs."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Query

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.core.errors import NotFound
from assay.services import jobs
from assay.services.context import Ctx
from assay.services.jobs_public import logs_chunk, version_public

router = APIRouter(prefix="/jobs", tags=["jobs"])
Context = Depends(context, scope="function")


@router.post("", status_code=201, openapi_extra=rule("user"))
def create(body: s.JobCreate, ctx: Ctx = Context) -> dict[str, Any]:
    spec = jobs.VersionSpec(**body.settings())
    job, version = jobs.create_job(ctx, body.name, body.description, body.type, spec)
    return version_public(ctx, job, [version])[0]


@router.get("", openapi_extra=rule("user"))
def list_(ctx: Ctx = Context) -> list[dict[str, Any]]:
    rows = []
    for job, latest in jobs.list_jobs(ctx):
        rows.append(
            {
                "name": job.name,
                "description": job.description,
                "type": job.type,
                "createdAt": job.created_at.isoformat().replace("+00:00", "Z"),
                "latest": version_public(ctx, job, [latest])[0] if latest else None,
            }
        )
    return rows


@router.delete("/{name}", openapi_extra=rule("user"))
def delete(name: str, ctx: Ctx = Context) -> s.Deleted:
    return s.Deleted(deleted=jobs.delete_job(ctx, name).name)


@router.post("/{name}/versions", status_code=201, openapi_extra=rule("user"))
def create_version(name: str, body: s.VersionCreate, ctx: Ctx = Context) -> dict[str, Any]:
    version = jobs.create_version(ctx, name, body.settings())
    return version_public(ctx, jobs.get_job(ctx, name), [version])[0]


@router.get("/{name}/versions", openapi_extra=rule("user"))
def list_versions(name: str, ctx: Ctx = Context) -> list[dict[str, Any]]:
    job, versions = jobs.list_versions(ctx, name)
    return version_public(ctx, job, versions)


@router.get("/{name}/versions/{version}", openapi_extra=rule("user"))
def get_version(name: str, version: str, ctx: Ctx = Context) -> dict[str, Any]:
    job, v = jobs.get_version(ctx, name, version)
    return version_public(ctx, job, [v])[0]


@router.post("/{name}/versions/{version}/terminate", openapi_extra=rule("user"))
def terminate(name: str, version: str, ctx: Ctx = Context) -> dict[str, Any]:
    job, v = jobs.get_version(ctx, name, version)
    return version_public(ctx, job, [jobs.terminate(ctx, job, v)])[0]


@router.post("/{name}/versions/{version}/rescore", status_code=201, openapi_extra=rule("user"))
def rescore(name: str, version: str, body: s.RescoreRequest, ctx: Ctx = Context) -> dict[str, Any]:
    """llm: a new version scoring this version's stored replies again, with new params."""
    new = jobs.rescore(ctx, name, version, body.params)
    return version_public(ctx, jobs.get_job(ctx, name), [new])[0]


@router.delete("/{name}/versions/{version}", openapi_extra=rule("user"))
def delete_version(name: str, version: str, ctx: Ctx = Context) -> s.Deleted:
    job, v = jobs.get_version(ctx, name, version)
    jobs.delete_version(ctx, job, v)
    return s.Deleted(deleted=f"{name}:{version}")


@router.get("/{name}/versions/{version}/tasks", openapi_extra=rule("user"))
def list_tasks(name: str, version: str, ctx: Ctx = Context) -> list[dict[str, Any]]:
    _, v = jobs.get_version(ctx, name, version)
    return [
        {
            "index": t.index,
            "state": t.state,
            "attempts": t.attempts,
            "maxAttempts": t.max_attempts,
            "pid": t.pid,
            "host": t.host,
            "exitCode": t.exit_code,
            "message": t.message,
            "startedAt": t.started_at.isoformat() if t.started_at else None,
            "finishedAt": t.finished_at.isoformat() if t.finished_at else None,
        }
        for t in jobs.list_tasks(ctx, v)
    ]


@router.get("/{name}/versions/{version}/logs", openapi_extra=rule("user"))
def logs(
    name: str,
    version: str,
    task: int = Query(default=0, ge=0),
    offset: int = Query(default=0, ge=0),
    ctx: Ctx = Context,
) -> dict[str, Any]:
    """A chunk of a task's log from byte ``offset``; ``complete`` once the version ended and
    the whole log was read (``--follow`` polls until then)."""
    _, v = jobs.get_version(ctx, name, version)
    if task not in {t.index for t in jobs.list_tasks(ctx, v)}:
        raise NotFound(f"{name}:{version} has no task {task}")
    return logs_chunk(ctx, v, task, offset)
