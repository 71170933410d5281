"""The one way a version's state changes: compare-and-set under the rules of core.states."""

from __future__ import annotations

from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import Session

from assay.core.states import FINAL, State, sources
from assay.db.models import Version, utcnow


def move(
    session: Session, version: Version, target: State, message: str, expect: State | None = None
) -> bool:
    """Move ``version`` to ``target`` if its state (``expect``, when given) allows it now.

    The update names the allowed source states, so of two writers racing (a terminate and
    the scheduler's completion), exactly one wins; the loser sees False and changes nothing.
    """
    allowed = sources(target) if expect is None else sources(target) & {expect}
    values: dict[str, Any] = {"state": target, "message": message[:8000]}
    if target in FINAL:
        values["finished_at"] = utcnow()
    elif target == State.RUNNING:
        values["started_at"] = utcnow()
    moved = session.execute(
        update(Version)
        .where(Version.id == version.id, Version.state.in_(allowed))
        .values(**values)
        .execution_options(synchronize_session=False)
    ).rowcount  # type: ignore[attr-defined]
    session.refresh(version)
    return bool(moved == 1)
