"""Per-user console settings: small JSON documents by key (column layouts, ...)."""

from __future__ import annotations

import json
import re
from typing import Any

from sqlalchemy import select

from assay.core.errors import InvalidInput, NotFound, PayloadTooLarge
from assay.db.models import UserSetting, utcnow
from assay.services.context import Ctx

MAX_BYTES = 16 * 1024
MAX_DEPTH = 8
MAX_KEYS = 100  # settings per user
_KEY = re.compile(r"^[a-z][a-z0-9._-]{0,63}$")


def check_key(key: str) -> str:
    if not _KEY.match(key):
        raise InvalidInput(
            f"invalid setting key {key!r}: lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter, at most 64 characters"
        )
    return key


def _depth(value: Any, level: int = 1) -> int:
    if isinstance(value, dict):
        return max((_depth(v, level + 1) for v in value.values()), default=level)
    if isinstance(value, list):
        return max((_depth(v, level + 1) for v in value), default=level)
    return level


def check_value(value: Any) -> Any:
    if not isinstance(value, dict):
        raise InvalidInput("a setting must be a JSON object")
    try:
        size = len(json.dumps(value, allow_nan=False, separators=(",", ":")).encode())
    except ValueError as exc:
        raise InvalidInput(f"a setting must be plain JSON: {exc}") from exc
    if size > MAX_BYTES:
        raise PayloadTooLarge(f"a setting is at most {MAX_BYTES} bytes of JSON; this is {size}")
    if _depth(value) > MAX_DEPTH:
        raise InvalidInput(f"a setting nests at most {MAX_DEPTH} levels deep")
    return value


def _row(ctx: Ctx, key: str) -> UserSetting | None:
    return ctx.session.scalar(
        select(UserSetting).where(
            UserSetting.user_id == ctx.actor.id, UserSetting.key == check_key(key)
        )
    )


def get(ctx: Ctx, key: str) -> UserSetting:
    row = _row(ctx, key)
    if row is None:
        raise NotFound(f"no setting {key!r} saved yet")
    return row


def keys(ctx: Ctx) -> list[UserSetting]:
    return list(
        ctx.session.scalars(
            select(UserSetting).where(UserSetting.user_id == ctx.actor.id).order_by(UserSetting.key)
        )
    )


def put(ctx: Ctx, key: str, value: Any) -> UserSetting:
    check_value(value)
    row = _row(ctx, key)
    if row is None:
        if len(keys(ctx)) >= MAX_KEYS:
            raise InvalidInput(f"at most {MAX_KEYS} settings per user; delete one first")
        row = UserSetting(user_id=ctx.actor.id, key=key, value=value)
        ctx.session.add(row)
    else:
        row.value = value
        row.updated_at = utcnow()
    ctx.session.flush()
    return row


def delete(ctx: Ctx, key: str) -> str:
    row = get(ctx, key)
    ctx.session.delete(row)
    return key
