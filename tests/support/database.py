"""Reading an instance's metadata database directly, whichever dialect it runs on (the
tests' way to check what no API shows: no half-written rows, no plaintext keys)."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, inspect, text
from sqlalchemy.engine import Engine


def url_of(home: Path, url: str | None = None) -> str:
    """The database URL of the instance at ``home``: given, set for this test, or SQLite."""
    return url or os.environ.get("ASSAY_DATABASE_URL") or f"sqlite:///{home / 'assay.db'}"


def engine(home: Path, url: str | None = None) -> Engine:
    return create_engine(url_of(home, url), poolclass=None)


def all_rows(
    home: Path, url: str | None = None, skip: tuple[str, ...] = ()
) -> dict[str, list[str]]:
    """Every table's rows (as sorted reprs), but the ``skip`` tables."""
    eng = engine(home, url)
    try:
        with eng.connect() as conn:
            tables = [t for t in inspect(conn).get_table_names() if t not in skip]
            return {
                t: sorted(repr(tuple(row)) for row in conn.execute(text(f'SELECT * FROM "{t}"')))
                for t in tables
            }
    finally:
        eng.dispose()


def execute(home: Path, sql: str, **params: Any) -> None:
    eng = engine(home)
    try:
        with eng.begin() as conn:
            conn.execute(text(sql), params)
    finally:
        eng.dispose()
