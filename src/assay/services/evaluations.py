"""Evaluation results: metrics bound to a model commit and a dataset commit."""

from __future__ import annotations

import json
import math
import re
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import aliased

from assay.core.errors import InvalidInput, NotFound
from assay.core.refs import AssetRef
from assay.core.states import State
from assay.db.models import Asset, Branch, Evaluation, Folder, Job, User, Version
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


_STATES = (State.COMPLETED, State.TERMINATED, State.TIMED_OUT, State.FAILED)
_CONDITION = re.compile(r"^\s*([A-Za-z_][\w.\-/]{0,127})\s*(>=|<=|==|!=|>|<|=)\s*(\S+)\s*$")


@dataclass(frozen=True)
class Filters:
    """What ``assay ls evaluation`` narrows the list to (all optional, combined with AND)."""

    model: AssetRef | None = None
    dataset: AssetRef | None = None
    job: str | None = None
    state: str | None = None
    creator: str | None = None
    since: datetime | None = None
    metric: list[str] = field(default_factory=list)  # e.g. "accuracy>0.9"
    cursor: str | None = None  # "<startTime>|<id>" of the last row already seen
    fresh: bool = False  # hide evaluations whose model or dataset branch has moved on


def _condition(text: str) -> Any:
    found = _CONDITION.match(text)
    if found is None:
        raise InvalidInput(
            f"cannot read metric condition {text!r}: write NAME OP NUMBER, e.g. "
            '"accuracy>0.9" (OP one of > >= < <= == !=)'
        )
    name, op, raw = found.groups()
    try:
        value = float(raw)
    except ValueError:
        raise InvalidInput(f"metric condition {text!r}: {raw!r} is not a number") from None
    column = Evaluation.metrics[name].as_float()
    return {
        ">": column > value,
        ">=": column >= value,
        "<": column < value,
        "<=": column <= value,
        "==": column == value,
        "=": column == value,
        "!=": column != value,
    }[op]


def _cursor(text: str) -> Any:
    when, _, last_id = text.partition("|")
    try:
        at = datetime.fromisoformat(when.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"cannot read cursor {text!r}: pass the last row's startTime|id"
        ) from None
    return or_(
        Evaluation.created_at < at, and_(Evaluation.created_at == at, Evaluation.id < last_id)
    )


def _commits(ctx: Ctx, ref: AssetRef, all_commits: bool, kind: str) -> Any:
    r = hub.resolve(ctx, ref)
    if r.info.type != kind:
        raise InvalidInput(f"{ref} is a {r.info.type}, not a {kind}")
    commits = (
        [c.id for c in history.history_of(ctx, r.info, r.commit)] if all_commits else [r.commit.id]
    )
    col = Evaluation.model_commit_id if kind == "model" else Evaluation.dataset_commit_id
    return col.in_(commits)


def list_(
    ctx: Ctx,
    ref: AssetRef | None,
    *,
    all_commits: bool,
    limit: int,
    before: datetime | None = None,
    filters: Filters | None = None,
) -> list[Evaluation]:
    """Evaluations newest first: all visible ones, or those of the commit(s) a ref names,
    narrowed by ``filters``; one query (indexes on created_at and the commit columns)."""
    f = filters or Filters()
    q = select(Evaluation)
    if not ctx.actor.is_admin:
        q = q.where(Evaluation.owner_id == ctx.actor.id)
    if ref is not None:
        r = hub.resolve(ctx, ref)
        q = q.where(_commits(ctx, ref, all_commits, r.info.type))
    if f.model is not None:
        q = q.where(_commits(ctx, f.model, all_commits, "model"))
    if f.dataset is not None:
        q = q.where(_commits(ctx, f.dataset, all_commits, "dataset"))
    if f.job is not None or f.state is not None:
        q = q.outerjoin(Version, Evaluation.version_id == Version.id)
    if f.job is not None:
        q = q.join(Job, Version.job_id == Job.id).where(
            Job.name == f.job, Job.owner_id == ctx.actor.id
        )
    if f.state is not None:
        if f.state not in _STATES:
            raise InvalidInput(f"unknown state {f.state!r}: one of {', '.join(_STATES)}")
        # A hand-made evaluation is complete; a job's has its version's final state.
        q = q.where(
            Version.state == f.state
            if f.state != "Completed"
            else or_(Evaluation.version_id.is_(None), Version.state == f.state)
        )
    if f.creator is not None:
        creator = ctx.session.scalar(select(User.id).where(User.name == f.creator))
        q = q.where(Evaluation.owner_id == (creator or ""))
    if f.since is not None:
        q = q.where(Evaluation.created_at >= f.since)
    for condition in f.metric:
        q = q.where(_condition(condition))
    if f.cursor is not None:
        q = q.where(_cursor(f.cursor))
    if before is not None:
        q = q.where(Evaluation.created_at < before)
    q = q.order_by(Evaluation.created_at.desc(), Evaluation.id.desc())
    if not f.fresh:
        return list(ctx.session.scalars(q.limit(limit)))
    # Staleness depends on branch heads now, so it is checked per batch after the query.
    out: list[Evaluation] = []
    for batch in ctx.session.scalars(q).partitions(500):
        heads = branch_heads(ctx, list(batch))
        out += [e for e in batch if stale_reason(e, heads) is None]
        if len(out) >= limit:
            break
    return out[:limit]


def _code(ctx: Ctx, evals: list[Evaluation]) -> dict[str, tuple[Any, Any, Any]]:
    """Evaluation id -> (code asset, branch, commit) of the job version that made it."""
    made_by = {e.version_id: e.id for e in evals if e.version_id}
    if not made_by:
        return {}
    rows = ctx.session.execute(
        select(
            Version.id, Version.code_asset_id, Version.code_branch, Version.code_commit_id
        ).where(Version.id.in_(made_by), Version.code_branch.is_not(None))
    )
    return {made_by[v]: (a, b, c) for v, a, b, c in rows}


def branch_heads(ctx: Ctx, evals: list[Evaluation]) -> dict[Any, Any]:
    """(asset id, branch) -> head commit, for every branch the evaluations were reached by
    (model, dataset, and a job version's code); also ``("code", eval id)`` -> its code."""
    code = _code(ctx, evals)
    wanted = {(e.model_asset_id, e.model_branch) for e in evals if e.model_branch}
    wanted |= {(e.dataset_asset_id, e.dataset_branch) for e in evals if e.dataset_branch}
    wanted |= {(a, b) for a, b, _ in code.values()}
    assets = {a for a, _ in wanted if a}
    if not assets:
        return {}
    rows = ctx.session.execute(
        select(Branch.asset_id, Branch.name, Branch.commit_id).where(Branch.asset_id.in_(assets))
    )
    heads: dict[Any, Any] = {(a, n): c for a, n, c in rows if (a, n) in wanted}
    heads.update({("code", eid): where for eid, where in code.items()})
    return heads


def stale_reason(e: Evaluation, heads: dict[Any, Any]) -> str | None:
    """Why an evaluation no longer describes its branches' heads, or None when it does."""
    code = heads.get(("code", e.id), (None, None, None))
    for kind, asset, branch, commit in (
        ("model", e.model_asset_id, e.model_branch, e.model_commit_id),
        ("dataset", e.dataset_asset_id, e.dataset_branch, e.dataset_commit_id),
        ("code", *code),
    ):
        if asset and branch:
            head = heads.get((asset, branch))
            if head is not None and head != commit:
                return f"the {kind} branch {branch} moved to {head[:8]}"
    return None


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
    heads = branch_heads(ctx, evals)
    made_by = [e.version_id for e in evals if e.version_id]
    states = (
        dict(
            ctx.session.execute(
                select(Version.id, Version.state).where(Version.id.in_(made_by))
            ).all()
        )
        if made_by
        else {}
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
            "state": str(states.get(e.version_id or "", State.COMPLETED)),
            "stale": stale_reason(e, heads),
            "partial": e.partial,
            "samples": e.sample_count if e.samples_sha256 else 0,
            "artifacts": [{"name": a["name"], "size": a["size"]} for a in e.artifacts or []],
            "creator": creators.get(e.owner_id),
            "startTime": e.created_at.isoformat().replace("+00:00", "Z"),
        }
        for e in evals
    ]
