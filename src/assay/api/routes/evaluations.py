"""Evaluation results bound to model and dataset commits."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, Query
from fastapi.responses import StreamingResponse

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.core.refs import parse_ref
from assay.services import evaluations, samples
from assay.services.context import Ctx

router = APIRouter(prefix="/evaluations", tags=["evaluations"])
Context = Depends(context, scope="function")


@router.post("", status_code=201, openapi_extra=rule("user"))
def create(body: s.EvaluationCreate, ctx: Ctx = Context) -> s.EvaluationPublic:
    ev, _ = evaluations.create(
        ctx,
        parse_ref(body.model, type_hint="model"),
        parse_ref(body.dataset, type_hint="dataset"),
        body.metrics,
        body.source,
    )
    return _one(ctx, ev)


@router.get("", openapi_extra=rule("user"))
def list_(
    ref: str | None = None,
    all_commits: bool = False,
    limit: int = Query(default=100, ge=1, le=1000),
    before: datetime | None = None,
    model: str | None = Query(default=None, max_length=300),
    dataset: str | None = Query(default=None, max_length=300),
    job: str | None = Query(default=None, max_length=64),
    state: str | None = Query(default=None, max_length=16),
    creator: str | None = Query(default=None, max_length=64),
    since: datetime | None = None,
    metric: list[str] = Query(default=[], max_length=20),
    cursor: str | None = Query(default=None, max_length=120),
    fresh: bool = False,
    ctx: Ctx = Context,
) -> list[s.EvaluationPublic]:
    """Newest first. Page by passing the last row's ``startTime|id`` as ``cursor``."""
    parsed = parse_ref(ref) if ref else None
    filters = evaluations.Filters(
        model=parse_ref(model, type_hint="model") if model else None,
        dataset=parse_ref(dataset, type_hint="dataset") if dataset else None,
        job=job,
        state=state,
        creator=creator,
        since=since,
        metric=metric,
        cursor=cursor,
        fresh=fresh,
    )
    rows = evaluations.list_(
        ctx, parsed, all_commits=all_commits, limit=limit, before=before, filters=filters
    )
    return [s.EvaluationPublic(**d) for d in evaluations.to_public(ctx, rows)]


@router.get("/{evaluation_id}", openapi_extra=rule("user"))
def get(evaluation_id: str, ctx: Ctx = Context) -> s.EvaluationPublic:
    return _one(ctx, evaluations.get(ctx, evaluation_id))


@router.delete("/{evaluation_id}", openapi_extra=rule("user"))
def delete(evaluation_id: str, ctx: Ctx = Context) -> s.Deleted:
    return s.Deleted(deleted=evaluations.delete(ctx, evaluation_id).id)


def _one(ctx: Ctx, ev: Any) -> s.EvaluationPublic:
    return s.EvaluationPublic(**evaluations.to_public(ctx, [ev])[0])


@router.get("/{evaluation_id}/samples", openapi_extra=rule("user"))
def list_samples(
    evaluation_id: str,
    where: str | None = None,
    order_by: str | None = None,
    limit: int = Query(default=50, ge=1, le=10_000),
    offset: int = Query(default=0, ge=0),
    ctx: Ctx = Context,
) -> dict[str, Any]:
    """Per-sample rows, filtered (``where``) and sorted (``order_by``) by SQL expressions."""
    return samples.query(
        ctx, evaluation_id, where=where, order_by=order_by, limit=limit, offset=offset
    )


@router.get(
    "/{evaluation_id}/artifacts/{name:path}",
    openapi_extra=rule("user"),
    response_class=StreamingResponse,
)
def artifact(evaluation_id: str, name: str, ctx: Ctx = Context) -> StreamingResponse:
    """One artifact, always as an attachment: never rendered from our origin."""
    entry = evaluations.artifact(ctx, evaluation_id, name)
    return StreamingResponse(
        ctx.store.iter_chunks(entry["sha256"]),
        media_type="application/octet-stream",
        headers={
            "Content-Length": str(entry["size"]),
            "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name.rsplit('/', 1)[-1])}",
            "X-Content-Type-Options": "nosniff",
        },
    )
