"""Apply Alembic migrations at start-up, once even when many processes start together."""

from __future__ import annotations

import fcntl
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

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


def upgrade(db: Database, lock_dir: Path) -> None:
    """Bring the schema to the newest revision.

    A file lock in ``lock_dir`` serialises concurrent starts on one machine (several CLI
    processes of the embedded instance); on a shared server database Alembic's own version
    table check inside the transaction is what protects it.
    """
    cfg = _config(db)
    if _is_current(db, cfg):
        return
    lock_dir.mkdir(parents=True, exist_ok=True)
    with open(lock_dir / ".migrate.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not _is_current(db, cfg):
                command.upgrade(cfg, "head")
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
