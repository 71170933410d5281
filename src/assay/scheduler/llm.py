"""What the scheduler does for llm versions: the endpoints (keys included) a shard's
process alone receives, the stored replies a re-scoring version reads, and the reason a
merge gives for stopping early (``--max-cost``)."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.core.errors import InvalidInput
from assay.db.models import Endpoint, Evaluation, Job, User, Version
from assay.services import endpoints
from assay.services.context import Instance


def task_env(s: Session, job: Job, version: Version, instance: Instance) -> dict[str, str]:
    """An llm shard's endpoints (keys included: this task's process alone sees them) and the
    owner's reply cache."""
    cache_root = instance.settings.home / "cache"
    if job.type != "llm":
        return {}
    # Without an endpoint the model commit is run locally; a judge is still an endpoint.
    found = {"model": s.get(Endpoint, version.endpoint_id)} if version.endpoint_id else {}
    judge = (version.params or {}).get("judge_endpoint")
    if judge:
        found["judge"] = s.scalar(
            select(Endpoint).where(Endpoint.owner_id == job.owner_id, Endpoint.name == judge)
        )
    missing = [role for role, e in found.items() if e is None]
    if missing:
        raise InvalidInput(
            f"the {' and '.join(missing)} endpoint of this version was deleted; "
            "register it again and create a new version"
        )
    owner = s.get(User, job.owner_id)
    guard = endpoints.guarded(
        bool(owner and owner.is_admin),
        bool(owner and instance.local_user is not None and owner.name == instance.local_user),
    )
    allowed = instance.settings.allowed_networks
    configs = {
        role: endpoints.worker_config(e, guard=guard, allowed=allowed)
        for role, e in found.items()
        if e is not None
    }
    cache = cache_root / "llm" / job.owner_id
    cache.mkdir(parents=True, exist_ok=True, mode=0o700)
    return {"ASSAY_ENDPOINTS": json.dumps(configs), "ASSAY_LLM_CACHE": str(cache)}


def stored_replies(s: Session, version: Version, source: str) -> list[list[object]]:
    """The per-turn rows of the version an llm re-scoring version scores again."""
    number = int(source[1:]) if source[:1] == "V" and source[1:].isdigit() else -1
    sha = s.scalar(
        select(Evaluation.samples_sha256)
        .join(Version, Evaluation.version_id == Version.id)
        .where(Version.job_id == version.job_id, Version.number == number)
    )
    if sha is None:
        raise InvalidInput(f"the replies of {source} are gone; its evaluation was deleted")
    return [["samples.parquet", sha, 0]]


def stop_reason(output: Path) -> str | None:
    """Why an llm merge says its version stopped early (``stopped.txt``), if it does."""
    path = output / "stopped.txt"
    if path.is_symlink() or not path.is_file():
        return None
    with open(path, encoding="utf-8", errors="replace") as f:
        return f.read(1000).strip() or None
