"""Inference endpoints for llm jobs. Responses never carry an endpoint's API key."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.db.models import Endpoint
from assay.services import endpoints, llm_estimate
from assay.services.context import Ctx

router = APIRouter(prefix="/endpoints", tags=["endpoints"])
Context = Depends(context, scope="function")


def public(e: Endpoint) -> s.EndpointPublic:
    return s.EndpointPublic(
        name=e.name,
        base_url=e.base_url,
        model=e.model,
        has_api_key=e.api_key is not None,
        max_concurrency=e.max_concurrency,
        rpm=e.rpm,
        tpm=e.tpm,
        price_input=e.price_input,
        price_output=e.price_output,
        batch=e.batch,
        model_ref=e.model_ref,
        model_commit=e.model_commit_id,
        created_at=e.created_at,
    )


@router.post("", status_code=201, openapi_extra=rule("user"))
def create(body: s.EndpointCreate, ctx: Ctx = Context) -> s.EndpointPublic:
    spec = endpoints.EndpointSpec(**body.model_dump(exclude={"name"}))
    return public(endpoints.create(ctx, body.name, spec))


@router.get("", openapi_extra=rule("user"))
def list_(ctx: Ctx = Context) -> list[s.EndpointPublic]:
    return [public(e) for e in endpoints.list_(ctx)]


@router.get("/{name}", openapi_extra=rule("user"))
def get(name: str, ctx: Ctx = Context) -> s.EndpointPublic:
    return public(endpoints.get(ctx, name))


@router.delete("/{name}", openapi_extra=rule("user"))
def delete(name: str, ctx: Ctx = Context) -> s.Deleted:
    return s.Deleted(deleted=endpoints.delete(ctx, name).name)


@router.post("/{name}/estimate", openapi_extra=rule("user"))
def estimate(name: str, body: s.EstimateRequest, ctx: Ctx = Context) -> dict[str, Any]:
    """Tokens and cost of evaluating this endpoint on a dataset, before running anything."""
    return llm_estimate.estimate(ctx, name, body.dataset, body.params)
