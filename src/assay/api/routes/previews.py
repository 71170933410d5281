"""Pictures of single samples: an evaluation's image with its boxes, mask or caption."""

from __future__ import annotations

from fastapi import APIRouter, Depends, Query
from fastapi.responses import Response

from assay.api.deps import context, rule
from assay.services import previews
from assay.services.context import Ctx

router = APIRouter(prefix="/evaluations", tags=["evaluations"])
Context = Depends(context, scope="function")


@router.get(
    "/{evaluation_id}/samples/{sample:path}/preview.png",
    openapi_extra=rule("user"),
    response_class=Response,
    responses={200: {"content": {"image/png": {}}}},
)
def preview(
    evaluation_id: str,
    sample: str,
    size: int = Query(default=256, ge=previews.MIN_SIZE, le=previews.MAX_SIZE),
    min_score: float = Query(default=0.5, ge=0, le=1),
    ctx: Ctx = Context,
) -> Response:
    """One sample drawn as a PNG (longer side ``size``): detection boxes (truth green,
    predictions scoring at least ``min_score`` red), the true mask of a segmentation, or a
    classification's label and prediction."""
    png = previews.render(ctx, evaluation_id, sample, size=size, min_score=min_score)
    return Response(
        png,
        media_type="image/png",
        headers={"X-Content-Type-Options": "nosniff", "Cache-Control": "private, max-age=300"},
    )
