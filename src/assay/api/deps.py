"""Authentication and the per-request service context.

Authorization fails closed: every route must be declared with :func:`rule` (``public``,
``user`` or ``admin``); :func:`context` refuses any request to a route without one, so a route
added without thought refuses everyone rather than serving everyone.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, Literal

from fastapi import Request
from fastapi.routing import APIRoute
from sqlalchemy.orm import Session

from assay.core.errors import PermissionDenied, Unauthenticated
from assay.services import users
from assay.services.context import Actor, Ctx, Instance

Rule = Literal["public", "user", "admin"]
RULE_KEY = "x-assay-auth"


def rule(value: Rule) -> dict[str, Any]:
    """``openapi_extra`` marking who may call a route; pass it to every route decorator."""
    return {RULE_KEY: value}


def route_rule(route: Any) -> Rule | None:
    if isinstance(route, APIRoute) and route.openapi_extra:
        value = route.openapi_extra.get(RULE_KEY)
        if value in ("public", "user", "admin"):
            return value  # type: ignore[no-any-return]
    return None


def _api_key(request: Request) -> str | None:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip()
    return request.headers.get("x-api-key")


def require_rule(request: Request) -> None:
    """Applied to every API route: one without a declared rule refuses everyone."""
    if route_rule(request.scope.get("route")) is None:
        raise PermissionDenied("this route has no authorization rule and refuses everyone")


def _authenticate(request: Request, session: Session) -> Actor:
    state: Instance = request.app.state.assay
    required = route_rule(request.scope.get("route"))
    if required is None:
        raise PermissionDenied("this route has no authorization rule and refuses everyone")
    key = _api_key(request)
    if key:
        user = users.authenticate(session, key)
        if user is None:
            raise Unauthenticated("invalid API key: log in again with `assay login`")
    elif state.local_user is not None:
        user, _ = users.ensure_user(session, state.local_user, admin=True)
    elif required == "public":
        return users.ANONYMOUS
    else:
        raise Unauthenticated(
            "missing API key: send 'Authorization: Bearer KEY' (`assay login --host URL "
            "--api-key KEY`)"
        )
    if required == "admin" and not user.is_admin:
        raise PermissionDenied("only an admin may do this")
    return users.actor_of(user)


def context(request: Request) -> Iterator[Ctx]:
    """One unit of work as the authenticated caller, committed before the response is sent."""
    state: Instance = request.app.state.assay
    with state.db.session() as session:
        actor = _authenticate(request, session)
        yield Ctx(
            session=session,
            actor=actor,
            store=state.store,
            settings=state.settings,
            embedded=state.local_user is not None,
        )


def caller(request: Request) -> Actor:
    """The authenticated caller alone, for routes that must not hold a transaction open
    while they stream (an upload would otherwise lock an SQLite database for its duration)."""
    state: Instance = request.app.state.assay
    with state.db.session() as session:
        return _authenticate(request, session)
