"""Apply Alembic migrations at start-up, once even when many processes start together."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text

from assay.db.session import Database

_SCRIPTS = Path(__file__).parent / "migrations"


def _config(db: Database) -> Config:
    cfg = Config()
    cfg.set_main_option("script_location", str(_SCRIPTS))
    cfg.attributes["engine"] = db.engine
    return cfg


def _is_current(db: Database, cfg: Config) -> bool:
    head = ScriptDirectory.from_config(cfg).get_current_head()
    with db.engine.connect() as conn:
        return MigrationContext.configure(conn).get_current_revision() == head


# Any fixed number: the PostgreSQL advisory lock that servers starting together queue on.
_ADVISORY_KEY = 0x61737361


def upgrade(db: Database, lock_dir: Path) -> None:
    """Bring the schema to the newest revision, once even when many processes start together.

    On SQLite a file lock in ``lock_dir`` serialises concurrent starts on its one machine
    (several CLI processes of the embedded instance); on PostgreSQL, servers on different
    machines queue on an advisory lock of the database itself.
    """
    cfg = _config(db)
    if _is_current(db, cfg):
        return
    if db.engine.dialect.name == "postgresql":
        with db.engine.connect() as conn:
            conn.execute(text("SELECT pg_advisory_lock(:k)"), {"k": _ADVISORY_KEY})
            try:
                if not _is_current(db, cfg):
                    command.upgrade(cfg, "head")
            finally:
                conn.execute(text("SELECT pg_advisory_unlock(:k)"), {"k": _ADVISORY_KEY})
                conn.commit()
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / ".migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _is_current(db, cfg):
                command.upgrade(cfg, "head")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
