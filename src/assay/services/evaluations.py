"""Evaluation results: metrics bound to a model commit and a dataset commit."""

from __future__ import annotations

import json
import math
import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import aliased

from assay.core.errors import InvalidInput, NotFound
from assay.core.refs import AssetRef
from assay.db.models import Asset, Evaluation, Folder, User
from assay.services import history, hub
from assay.services.context import Ctx

SOURCES = ("cli", "sdk", "api", "console")
MAX_METRICS_BYTES = 1024 * 1024


def _check_metrics(metrics: Any) -> dict[str, Any]:
    if not isinstance(metrics, dict) or not metrics:
        raise InvalidInput("metrics must be a non-empty JSON object of name -> value")
    for key in metrics:
        if not isinstance(key, str) or not key.strip() or len(key) > 200:
            raise InvalidInput(f"invalid metric name {key!r}: 1-200 characters")
    _check_finite(metrics, "")
    if len(json.dumps(metrics)) > MAX_METRICS_BYTES:
        raise InvalidInput("metrics are larger than 1 MiB; store large results as files")
    return metrics


def _check_finite(value: Any, where: str) -> None:
    """JSON has no NaN or infinity; refuse them rather than store what no client can read."""
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(
            f"metric {where or 'value'} is {value}: only finite numbers are "
            "allowed (store a string if you must)"
        )
    if isinstance(value, dict):
        for k, v in value.items():
            _check_finite(v, f"{where}.{k}" if where else str(k))
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_finite(v, f"{where}[{i}]")


def create(
    ctx: Ctx, model: AssetRef, dataset: AssetRef, metrics: Any, source: str
) -> tuple[Evaluation, hub.Resolved]:
    if source not in SOURCES:
        raise InvalidInput(f"unknown source {source!r}: one of {', '.join(SOURCES)}")
    _check_metrics(metrics)
    m = hub.resolve(ctx, model)
    if m.info.type != "model":
        raise InvalidInput(f"{model} is a {m.info.type}, not a model")
    d = hub.resolve(ctx, dataset)
    if d.info.type != "dataset":
        raise InvalidInput(f"{dataset} is a {d.info.type}, not a dataset")
    ev = Evaluation(
        owner_id=ctx.actor.id,
        model_asset_id=m.info.asset.id,
        model_commit_id=m.commit.id,
        model_rev=m.rev,
        model_branch=m.branch,
        dataset_asset_id=d.info.asset.id,
        dataset_commit_id=d.commit.id,
        dataset_rev=d.rev,
        dataset_branch=d.branch,
        metrics=metrics,
        source=source,
    )
    ctx.session.add(ev)
    ctx.session.flush()
    return ev, m


def _check_id(evaluation_id: str) -> str:
    try:
        return str(uuid.UUID(evaluation_id))
    except (ValueError, AttributeError, TypeError):
        raise NotFound(f"no evaluation with ID {evaluation_id!r}") from None


def get(ctx: Ctx, evaluation_id: str) -> Evaluation:
    ev = ctx.session.get(Evaluation, _check_id(evaluation_id))
    if ev is None or not ctx.actor.can_see(ev.owner_id):
        raise NotFound(f"no evaluation with ID {evaluation_id!r}")
    return ev


def artifact(ctx: Ctx, evaluation_id: str, name: str) -> dict[str, Any]:
    """The stored entry (name, sha256, size) of one of an evaluation's artifacts."""
    ev = get(ctx, evaluation_id)
    entry = next((a for a in ev.artifacts or [] if a["name"] == name), None)
    if entry is None:
        shown = ", ".join(a["name"] for a in ev.artifacts or []) or "none"
        raise NotFound(f"evaluation {evaluation_id} has no artifact {name!r} (it has: {shown})")
    return entry


def delete(ctx: Ctx, evaluation_id: str) -> Evaluation:
    ev = get(ctx, evaluation_id)
    ctx.session.delete(ev)
    return ev


def list_(
    ctx: Ctx, ref: AssetRef | None, *, all_commits: bool, limit: int, before: datetime | None = None
) -> list[Evaluation]:
    """Evaluations newest first: all visible ones, or those of the commit(s) a ref names."""
    q = select(Evaluation)
    if not ctx.actor.is_admin:
        q = q.where(Evaluation.owner_id == ctx.actor.id)
    if ref is not None:
        r = hub.resolve(ctx, ref)
        commits = (
            [c.id for c in history.history_of(ctx, r.info, r.commit)]
            if all_commits
            else [r.commit.id]
        )
        col = Evaluation.model_commit_id if r.info.type == "model" else Evaluation.dataset_commit_id
        q = q.where(col.in_(commits))
    if before is not None:
        q = q.where(Evaluation.created_at < before)
    return list(
        ctx.session.scalars(
            q.order_by(Evaluation.created_at.desc(), Evaluation.id.desc()).limit(limit)
        )
    )


def to_public(ctx: Ctx, evals: list[Evaluation]) -> list[dict[str, Any]]:
    """The dicts the SDK returns and ``--output json`` prints (seed 001's keys), with the
    names and tags of every evaluation fetched in two queries, not two per row."""
    asset_ids = {e.model_asset_id for e in evals if e.model_asset_id} | {
        e.dataset_asset_id for e in evals
    }
    paths: dict[str, str] = {}
    if asset_ids:
        owner = aliased(User)
        for aid, ftype, fname, aname, uname in ctx.session.execute(
            select(Asset.id, Folder.type, Folder.name, Asset.name, owner.name)
            .join(Folder, Asset.folder_id == Folder.id)
            .join(owner, Folder.owner_id == owner.id)
            .where(Asset.id.in_(asset_ids))
        ):
            paths[aid] = f"{uname}/{ftype}/{fname}/{aname}"
    tags = history.tags_by_commit(
        ctx,
        [e.model_commit_id for e in evals if e.model_commit_id]
        + [e.dataset_commit_id for e in evals],
    )
    creators = (
        dict(
            ctx.session.execute(
                select(User.id, User.name).where(User.id.in_({e.owner_id for e in evals}))
            ).all()
        )
        if evals
        else {}
    )
    return [
        {
            "id": e.id,
            "modelID": e.model_asset_id,
            "modelRef": f"{paths[e.model_asset_id]}:{e.model_rev}" if e.model_asset_id else None,
            "modelCommit": e.model_commit_id,
            "modelBranch": e.model_branch,
            "modelTags": tags[e.model_commit_id] if e.model_commit_id else [],
            "endpoint": e.endpoint,
            "datasetID": e.dataset_asset_id,
            "datasetRef": f"{paths[e.dataset_asset_id]}:{e.dataset_rev}",
            "datasetCommit": e.dataset_commit_id,
            "datasetBranch": e.dataset_branch,
            "datasetTags": tags[e.dataset_commit_id],
            "results": {"metric": e.metrics},
            "source": e.source,
            "partial": e.partial,
            "samples": e.sample_count if e.samples_sha256 else 0,
            "artifacts": [{"name": a["name"], "size": a["size"]} for a in e.artifacts or []],
            "creator": creators.get(e.owner_id),
            "startTime": e.created_at.isoformat().replace("+00:00", "Z"),
        }
        for e in evals
    ]
