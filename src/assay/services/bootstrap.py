"""First start of a server: make sure an admin exists."""

from __future__ import annotations

from sqlalchemy.exc import IntegrityError

from assay.services import users
from assay.services.context import Instance


def ensure_admin(state: Instance) -> str | None:
    """Create the user ``admin`` with a key if missing; return the key only when created."""
    try:
        with state.db.session() as session:
            user, created = users.ensure_user(session, users.ADMIN_NAME, admin=True)
            return users.issue_key(session, user) if created else None
    except IntegrityError:
        # Servers starting together on one PostgreSQL database: another one created it
        # between our look and our insert (SQLite's write lock never lets this happen).
        return None
