"""Users and API keys. Keys are random 256-bit secrets shown once and stored as SHA-256."""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from assay.core.errors import Conflict, PermissionDenied, Unauthenticated
from assay.core.names import check_name
from assay.db.models import ApiKey, User
from assay.services.context import Actor

KEY_PREFIX = "assay_"
ADMIN_NAME = "admin"
ANONYMOUS = Actor(id="", name="", is_admin=False)


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def actor_of(user: User) -> Actor:
    return Actor(id=user.id, name=user.name, is_admin=user.is_admin)


def issue_key(session: Session, user: User) -> str:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiKey(user_id=user.id, key_hash=_hash(key), prefix=key[:12]))
    session.flush()
    return key


def authenticate(session: Session, key: str) -> User | None:
    if not key.startswith(KEY_PREFIX) or len(key) > 200:
        return None
    return session.scalar(
        select(User).join(ApiKey, ApiKey.user_id == User.id).where(ApiKey.key_hash == _hash(key))
    )


def create_user(
    session: Session, actor: Actor, name: str, *, admin: bool = False
) -> tuple[User, str]:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can create users")
    check_name(name, "user")
    if session.scalar(select(User).where(User.name == name)) is not None:
        raise Conflict(f"user {name!r} already exists")
    user = User(name=name, is_admin=admin)
    session.add(user)
    session.flush()
    return user, issue_key(session, user)


def ensure_user(session: Session, name: str, *, admin: bool) -> tuple[User, bool]:
    """Return the user ``name``, creating it first if needed; the flag says if it was created."""
    user = session.scalar(select(User).where(User.name == name))
    if user is not None:
        return user, False
    user = User(name=check_name(name, "user"), is_admin=admin)
    session.add(user)
    session.flush()
    return user, True


def list_users(session: Session, actor: Actor) -> list[User]:
    if not actor.is_admin:
        raise PermissionDenied("only an admin can list users")
    return list(session.scalars(select(User).order_by(User.name)))


def get(session: Session, user_id: str) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise Unauthenticated("the user of this API key no longer exists")
    return user
