"""First start of a server: make sure an admin exists."""

from __future__ import annotations

from assay.services import users
from assay.services.context import Instance


def ensure_admin(state: Instance) -> str | None:
    """Create the user ``admin`` with a key if missing; return the key only when created."""
    with state.db.session() as session:
        user, created = users.ensure_user(session, users.ADMIN_NAME, admin=True)
        return users.issue_key(session, user) if created else None
