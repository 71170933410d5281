"""Users and who the caller is."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from assay.api import schemas as s
from assay.api.deps import context, rule
from assay.services import users
from assay.services.context import Ctx

router = APIRouter(prefix="/users", tags=["users"])
Context = Depends(context, scope="function")


@router.get("/me", openapi_extra=rule("user"))
def me(ctx: Ctx = Context) -> s.UserPublic:
    user = users.get(ctx.session, ctx.actor.id)
    return s.UserPublic.model_validate(user)


@router.post("", status_code=201, openapi_extra=rule("admin"))
def create(body: s.UserCreate, ctx: Ctx = Context) -> s.UserCreated:
    user, key = users.create_user(ctx.session, ctx.actor, body.name, admin=body.admin)
    return s.UserCreated(
        name=user.name, is_admin=user.is_admin, created_at=user.created_at, api_key=key
    )


@router.get("", openapi_extra=rule("admin"))
def list_(ctx: Ctx = Context) -> list[s.UserPublic]:
    return [s.UserPublic.model_validate(u) for u in users.list_users(ctx.session, ctx.actor)]
