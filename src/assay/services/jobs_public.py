"""The public (JSON) form of versions, and log reading."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from assay.core.states import FINAL
from assay.db.models import Evaluation, Job, Pool, Version
from assay.services import jobs, runtimes
from assay.services.context import Ctx

LOG_CHUNK = 256 * 1024


def _iso(value: Any) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value is not None else None


def version_public(ctx: Ctx, job: Job, versions: list[Version]) -> list[dict[str, Any]]:
    ids = [v.id for v in versions]
    evals = (
        dict(
            ctx.session.execute(
                select(Evaluation.version_id, Evaluation.id).where(Evaluation.version_id.in_(ids))
            ).all()
        )
        if ids
        else {}
    )
    pool_names = dict(ctx.session.execute(select(Pool.id, Pool.name)).all())
    runtime_refs = runtimes.refs_of(
        ctx.session, {v.runtime_version_id for v in versions if v.runtime_version_id}
    )
    positions = jobs.queue_positions(ctx, versions)
    return [
        {
            "job": job.name,
            "name": jobs.version_name(v.number),
            "id": v.id,
            "type": job.type,
            "state": v.state,
            "message": v.message,
            "queuePosition": positions.get(v.id),
            "metrics": v.metrics,
            "partial": v.partial,
            "evaluationId": evals.get(v.id),
            "model": v.model_ref,
            "modelPath": v.model_path,
            "modelPathSha256": v.model_path_sha256,
            "dataPath": v.data_path,
            "dataPathSha256": v.data_path_sha256,
            "modelCommit": v.model_commit_id,
            "dataset": v.dataset_ref,
            "datasetCommit": v.dataset_commit_id,
            "code": v.code_ref,
            "codeCommit": v.code_commit_id,
            "launch": v.launch,
            "endpoint": v.endpoint_name,
            "runtime": runtime_refs.get(v.runtime_version_id or ""),
            "estimate": v.estimate,
            "params": v.params,
            "pool": pool_names.get(v.pool_id),
            "cpu": v.cpu,
            "memory": v.memory,
            "gpu": v.gpu,
            "priority": v.priority,
            "timeout": v.timeout,
            "debug": v.debug,
            "createdAt": _iso(v.created_at),
            "queuedAt": _iso(v.queued_at),
            "startedAt": _iso(v.started_at),
            "finishedAt": _iso(v.finished_at),
            "usage": {
                "cpuSeconds": round(v.cpu_seconds, 3),
                "gpuSeconds": round(v.gpu_seconds, 3),
                "peakMemory": v.peak_memory,
            },
            "workdir": v.workdir if v.debug else None,
        }
        for v in versions
    ]


def logs_chunk(ctx: Ctx, version: Version, task: int, offset: int) -> dict[str, Any]:
    path = ctx.settings.home / "logs" / version.id / f"task-{task}.log"
    ended = version.state in FINAL
    data = b""
    size = 0
    if path.exists():
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(min(offset, size))
            data = f.read(LOG_CHUNK)
    if not ended and len(data) < LOG_CHUNK:
        # Whole lines only while it is being written (a full chunk goes out as it is, so a
        # task printing a very long line is still followed).
        data = data[: data.rindex(b"\n") + 1] if b"\n" in data else b""
    next_offset = min(offset, size) + len(data)
    return {
        "data": data.decode("utf-8", "replace"),
        "nextOffset": next_offset,
        "complete": ended and next_offset >= size,
    }
