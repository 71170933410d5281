"""Comparing evaluations against a baseline."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.services import compare as comparing
from assay.services.context import Ctx

router = APIRouter(tags=["compare"])
Context = Depends(context, scope="function")


@router.post("/compare", openapi_extra=rule("user"))
def compare(body: s.CompareRequest, ctx: Ctx = Context) -> dict[str, Any]:
    """Metric and per-class deltas of each candidate against the baseline; with the same
    dataset commit, paired sample-level statistics (McNemar, bootstrap, Holm)."""
    return comparing.compare(
        ctx,
        body.baseline,
        body.candidates,
        metrics=body.metrics,
        confidence=body.confidence,
        resamples=body.resamples,
        seed=body.seed,
    )


@router.post("/diff", openapi_extra=rule("user"))
def diff(body: s.DiffRequest, ctx: Ctx = Context) -> dict[str, Any]:
    """The samples that changed between two evaluations of the same dataset commit."""
    return comparing.diff(ctx, body.baseline, body.candidate, only=body.only, limit=body.limit)


@router.put("/pins", openapi_extra=rule("user"))
def pin(body: s.PinRequest, ctx: Ctx = Context) -> dict[str, Any]:
    """Pin an evaluation as the baseline of a job or a model; comparisons default to it."""
    return comparing.pin(ctx, body.evaluation, job=body.job, model=body.model)
