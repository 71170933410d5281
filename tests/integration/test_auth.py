"""Authentication and authorization against a real `assay server` process.

A request without a valid key gets 401; only an admin creates users; a user asking for another
user's folder, asset or evaluation gets the same 404 as for one that does not exist; an admin
sees everything; keys are stored hashed; and every API route declares who may call it, a route
without a rule refusing everyone.
"""

from __future__ import annotations

import asyncio
import hashlib
import re
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import APIRouter, Depends, FastAPI
from fastapi.routing import APIRoute
from starlette.routing import BaseRoute

from assay import errors, hub
from assay.api.app import create_app, open_state
from assay.api.deps import context, require_rule, route_rule, rule
from assay.api.routes import folders
from assay.core.config import Settings, get_settings
from assay.services.bootstrap import ensure_admin
from assay.services.context import Ctx
from tests.conftest import Result, Server, clean_env, run_assay
from tests.support.database import all_rows

Cli = Callable[..., Result]


def refused(response: httpx.Response, status: int, family: str, says: str = "") -> dict[str, Any]:
    shown = f"{response.request.method} {response.request.url} -> {response.status_code}: "
    shown += response.text[:500]
    assert response.status_code == status, shown
    assert response.headers["content-type"].startswith("application/json"), shown
    err: dict[str, Any] = response.json()["error"]
    assert err["type"] == family and says in err["message"], shown
    return err


def create_user(server: Server, name: str) -> str:
    with server.client(server.admin_key) as admin:
        r = admin.post("/users", json={"name": name})
    assert r.status_code == 201, r.text
    key: str = r.json()["apiKey"]
    return key


def populate(c: httpx.Client, content: bytes) -> dict[str, str]:
    """Folder model/f with model m (one commit of w.bin), dataset d/ds, one evaluation."""
    for body in ({"type": "model", "name": "f"}, {"type": "dataset", "name": "d"}):
        assert c.post("/folders", json=body).status_code == 201
    asset = c.post("/assets", json={"type": "model", "folder": "f", "name": "m"}).json()
    assert c.post("/assets", json={"type": "dataset", "folder": "d", "name": "ds"}).is_success
    sha = hashlib.sha256(content).hexdigest()
    assert c.put(f"/blobs/{sha}", content=content).status_code == 200
    add = [{"path": "w.bin", "sha256": sha, "size": len(content)}]
    r = c.post(f"/assets/{asset['id']}/commits", json={"message": "w", "add": add})
    assert r.status_code == 201, r.text
    r = c.post("/evaluations", json={"model": "f/m", "dataset": "d/ds", "metrics": {"acc": 0.9}})
    assert r.status_code == 201, r.text
    return {"asset": asset["id"], "eval": r.json()["id"], "sha": sha}


# ---- authentication ------------------------------------------------------------------------


def test_requests_without_a_valid_key_get_401(server: Server, cli: Cli, home: Path) -> None:
    with server.client(None) as anonymous:
        assert anonymous.get("/health").status_code == 200  # the one public route
        for path in ("/users/me", "/folders", "/evaluations", f"/assets/{uuid.uuid4()}"):
            refused(anonymous.get(path), 401, "Unauthenticated", "missing API key")
        refused(
            anonymous.post("/folders", json={"type": "model", "name": "f"}), 401, "Unauthenticated"
        )
        refused(anonymous.post("/users", json={"name": "x"}), 401, "Unauthenticated")
    wrong = (
        "assay_" + "A" * 43,
        server.admin_key + "x",
        server.admin_key[:-1],
        server.admin_key.upper(),
        "not-a-key",
    )
    for key in wrong:
        with server.client(key) as c:
            refused(c.get("/users/me"), 401, "Unauthenticated", "invalid API key")
            refused(c.post("/folders", json={"type": "model", "name": "f"}), 401, "Unauthenticated")
    headers = {"X-Api-Key": "assay_" + "A" * 43}
    with httpx.Client(base_url=server.url + "/api/v1", headers=headers) as c:
        refused(c.get("/folders"), 401, "Unauthenticated", "invalid API key")
    # Nothing was created by the refused requests; the right key, in either header, works.
    with httpx.Client(
        base_url=server.url + "/api/v1", headers={"X-Api-Key": server.admin_key}
    ) as c:
        assert c.get("/users/me").json()["name"] == "admin"
        assert c.get("/folders").json() == []
        assert [u["name"] for u in c.get("/users").json()] == ["admin"]

    # The SDK raises the matching class; the CLI says so on one line and stores nothing.
    with pytest.raises(errors.Unauthenticated, match="invalid API key"):
        hub.login(host=server.url, api_key=wrong[0])
    res = cli("login", "--host", server.url, "--api-key", wrong[0])
    assert res.code == 5 and res.err.startswith("Error: invalid API key"), res
    assert "Traceback" not in res.err and not (home / "credentials.json").exists()
    res = cli("login", "--host", server.url, "--api-key", server.admin_key)
    assert res.code == 0 and "as user admin" in res.err, res


# ---- users ---------------------------------------------------------------------------------


def test_only_an_admin_creates_users_and_keys_are_stored_hashed(
    server: Server, cli: Cli, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with server.client(server.admin_key) as admin:
        r = admin.post("/users", json={"name": "alice"})
        assert r.status_code == 201, r.text
        created = r.json()
        assert created["name"] == "alice" and created["isAdmin"] is False
        alice_key = created["apiKey"]
        assert alice_key.startswith("assay_") and len(alice_key) > 40
        refused(admin.post("/users", json={"name": "alice"}), 409, "Conflict", "already exists")
        refused(admin.post("/users", json={"name": "bad name"}), 422, "InvalidInput")
    with server.client(alice_key) as alice:
        assert alice.get("/users/me").json()["name"] == "alice"

    # `assay user create NAME` run by the admin prints the new key, alone, on stdout.
    env = {**clean_env(home), "ASSAY_HOST": server.url, "ASSAY_API_KEY": server.admin_key}
    proc = run_assay(home, "user", "create", "bob", env=env)
    assert proc.returncode == 0, proc.stderr
    bob_key = proc.stdout.strip()
    assert bob_key.startswith("assay_") and "\n" not in bob_key
    assert "Created user bob" in proc.stderr
    with server.client(bob_key) as bob:
        assert bob.get("/users/me").json()["name"] == "bob"

    # A normal user may not create (or list) users, through REST or the CLI.
    with server.client(alice_key) as alice:
        refused(alice.post("/users", json={"name": "eve"}), 403, "PermissionDenied", "admin")
        refused(alice.post("/users", json={"name": "eve", "admin": True}), 403, "PermissionDenied")
        refused(alice.get("/users"), 403, "PermissionDenied")
    monkeypatch.setenv("ASSAY_HOST", server.url)
    monkeypatch.setenv("ASSAY_API_KEY", alice_key)
    get_settings.cache_clear()
    res = cli("user", "create", "eve")
    assert res.code == 6 and res.err.startswith("Error: only an admin"), res
    assert res.out == "" and "Traceback" not in res.err
    with server.client(server.admin_key) as admin:
        assert [u["name"] for u in admin.get("/users").json()] == ["admin", "alice", "bob"]

    # Keys are stored hashed: no key appears in the key table, or anywhere in the database.
    keys = [server.admin_key, alice_key, bob_key]
    db_files = [p for p in server.home.glob("assay.db*") if p.is_file()]
    tables = all_rows(server.home, server.database_url)
    assert len(tables["api_keys"]) == 3
    for key in keys:
        assert not [t for t, rows in tables.items() for row in rows if key in row]
        assert not [p for p in db_files if key.encode() in p.read_bytes()]
    # ... and the admin's key, shown once at the first start, is kept for its owner alone.
    key_file = server.home / "admin.key"
    assert key_file.read_text().strip() == server.admin_key
    assert oct(key_file.stat().st_mode & 0o777) == "0o600"


# ---- private by default, admin sees all ----------------------------------------------------


def test_other_users_things_are_not_found_and_admin_sees_all(server: Server, home: Path) -> None:
    alice_key, bob_key = create_user(server, "alice"), create_user(server, "bob")
    with server.client(alice_key) as alice:
        a = populate(alice, b"alice's weights")
        assert alice.post("/folders", json={"type": "code", "name": "private"}).is_success
    with server.client(bob_key) as bob:
        b = populate(bob, b"bob's weights")  # the same folder and asset names, his own
        assert b["asset"] != a["asset"]
        bob_state = _listings(bob, b["asset"])

        asset, ev, nobody = a["asset"], a["eval"], str(uuid.uuid4())
        for method, path in (
            ("GET", f"/assets/{asset}"),
            ("GET", f"/assets/{asset}/resolve"),
            ("GET", f"/assets/{asset}/branches"),
            ("GET", f"/assets/{asset}/tags"),
            ("GET", f"/assets/{asset}/commits"),
            ("GET", f"/assets/{asset}/files"),
            ("GET", f"/assets/{asset}/files/w.bin"),
            ("POST", f"/assets/{asset}/branches"),
            ("POST", f"/assets/{asset}/tags"),
            ("POST", f"/assets/{asset}/commits"),
            ("DELETE", f"/assets/{asset}/branches/main"),
            ("DELETE", f"/assets/{asset}"),
            ("GET", f"/evaluations/{ev}"),
            ("DELETE", f"/evaluations/{ev}"),
        ):
            body = {"message": "x", "delete": ["w.bin"]} if "commits" in path else {"name": "x"}
            kw: dict[str, Any] = {"json": body} if method == "POST" else {}
            theirs = bob.request(method, path, **kw)
            err = refused(theirs, 404, "NotFound")
            # Exactly what a thing that never existed answers: nothing leaks.
            absent = bob.request(method, path.replace(asset, nobody).replace(ev, nobody), **kw)
            assert absent.status_code == 404
            assert absent.json()["error"]["message"] == err["message"].replace(
                asset, nobody
            ).replace(ev, nobody)
        for ref in ("alice/model/f/m", "alice/model/f/m:main", "alice/dataset/d/ds"):
            err = refused(bob.get("/assets/lookup", params={"ref": ref}), 404, "NotFound")
            absent = bob.get("/assets/lookup", params={"ref": ref.replace("alice", "nobody")})
            assert absent.json()["error"]["message"] == err["message"].replace("alice", "nobody")
        refused(bob.get("/evaluations", params={"ref": "alice/model/f/m"}), 404, "NotFound")
        # A folder of alice's is, to bob, a folder that does not exist.
        for name in ("private", "nothing"):
            listed = bob.get("/assets", params={"type": "code", "folder": name})
            refused(listed, 404, "NotFound", f"Code Folder '{name}' does not exist")
            refused(bob.delete(f"/folders/code/{name}"), 404, "NotFound", "does not exist")
        # Knowing the hash of alice's file gives bob nothing: he must upload it himself.
        assert bob.post("/blobs/missing", json={"hashes": [a["sha"]]}).json() == {
            "missing": [a["sha"]]
        }
        add = [{"path": "stolen.bin", "sha256": a["sha"], "size": 15}]
        r = bob.post(f"/assets/{b['asset']}/commits", json={"message": "x", "add": add})
        refused(r, 422, "InvalidInput", "not uploaded by you")
        # Bob's listings hold only his own things; his refs without an owner mean his own.
        assert [(f["owner"], f["name"]) for f in bob.get("/folders").json()] == [
            ("bob", "d"),
            ("bob", "f"),
        ]
        assert [e["id"] for e in bob.get("/evaluations").json()] == [b["eval"]]
        assert bob.get("/assets/lookup", params={"ref": "f/m"}).json()["asset"]["id"] == b["asset"]
        assert _listings(bob, b["asset"]) == bob_state

    with server.client(alice_key) as alice:  # bob's attempts changed nothing of alice's
        assert alice.get(f"/assets/{a['asset']}").status_code == 200
        assert [x["name"] for x in alice.get(f"/assets/{a['asset']}/branches").json()] == ["main"]
        assert [e["id"] for e in alice.get("/evaluations").json()] == [a["eval"]]
        assert [f["name"] for f in alice.get("/folders").json()] == ["private", "d", "f"]
        refused(alice.get(f"/evaluations/{b['eval']}"), 404, "NotFound")

    with server.client(server.admin_key) as admin:
        assert {e["id"] for e in admin.get("/evaluations").json()} == {a["eval"], b["eval"]}
        got = admin.get(f"/assets/{a['asset']}")
        assert got.status_code == 200 and got.json()["owner"] == "alice"
        found = admin.get("/assets/lookup", params={"ref": "alice/model/f/m"}).json()
        assert found["asset"]["id"] == a["asset"]
        assert admin.get(f"/evaluations/{b['eval']}").json()["creator"] == "bob"
        assert admin.get(f"/assets/{b['asset']}/files").json()[0]["path"] == "w.bin"

    # The SDK, logged in as bob, raises NotFound for alice's things.
    hub.login(host=server.url, api_key=bob_key)
    with pytest.raises(errors.NotFound):
        hub.get_asset("alice/model/f/m")
    with pytest.raises(errors.NotFound):
        hub.get_evaluation(a["eval"])
    with pytest.raises(errors.NotFound):
        hub.delete_evaluation(evaluation_id=a["eval"])
    assert [e["id"] for e in hub.list_evaluation()] == [b["eval"]]


def _listings(c: httpx.Client, asset_id: str) -> list[Any]:
    paths = (
        "/folders",
        "/evaluations",
        f"/assets/{asset_id}/commits",
        "/assets?type=model&folder=f",
    )
    return [c.get(p).json() for p in paths]


# ---- every route declares who may call it --------------------------------------------------


def documented_path(path: str) -> str:
    """'/files/{path:path}' is documented as '/files/{path}'."""
    return re.sub(r"{(\w+):\w+}", r"{\1}", path)


def api_routes(app: FastAPI) -> list[tuple[str, BaseRoute]]:
    """(full path, route) of every route under /api/v1, however the routers were included
    (recent FastAPI keeps an included router whole and resolves its routes lazily)."""
    found: list[tuple[str, BaseRoute]] = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            found += [(c.path, c.original_route) for c in route.effective_route_contexts()]
        else:
            found.append((getattr(route, "path", ""), route))
    return [(path, r) for path, r in found if path.startswith("/api/v1")]


def test_every_api_route_declares_an_auth_rule(tmp_path: Path) -> None:
    state = open_state(Settings(home=tmp_path), local_user=None)
    try:
        app = create_app(state)
    finally:
        state.db.dispose()
    routes = api_routes(app)
    undeclared = [path for path, r in routes if route_rule(r) is None]
    assert undeclared == []
    declared = {
        f"{method} {documented_path(path)}": route_rule(r)
        for path, r in routes
        if isinstance(r, APIRoute)
        for method in r.methods
    }
    # The walk saw every operation the API documents, and the document shows each one's rule.
    documented = {
        f"{method.upper()} {path}": operation.get("x-assay-auth")
        for path, operations in app.openapi()["paths"].items()
        if path.startswith("/api/v1")
        for method, operation in operations.items()
    }
    assert len(documented) >= 25
    assert declared == documented
    # Only the health check is open to anyone; managing users is reserved to admins.
    assert [op for op, r in declared.items() if r == "public"] == ["GET /api/v1/health"]
    assert declared["GET /api/v1/users"] == declared["POST /api/v1/users"] == "admin"


def test_a_route_without_a_rule_refuses_everyone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As if someone added routes to the folders module and forgot `openapi_extra=rule(...)`.
    monkeypatch.setattr(folders.router, "routes", list(folders.router.routes))

    @folders.router.get("/forgotten")
    def forgotten() -> dict[str, bool]:
        return {"served": True}

    @folders.router.get("/forgotten-ctx")
    def forgotten_ctx(ctx: Ctx = Depends(context)) -> dict[str, str]:
        return {"served": ctx.actor.name}

    @folders.router.get("/declared", openapi_extra=rule("admin"))
    def declared(ctx: Ctx = Depends(context)) -> dict[str, str]:
        return {"served": ctx.actor.name}

    state = open_state(Settings(home=tmp_path), local_user=None)
    key = ensure_admin(state)
    embedded_state = open_state(Settings(home=tmp_path), local_user="local")
    try:
        app = create_app(state)
        # ... or added to the app later under /api/v1, with the API's dependencies.
        late = APIRouter(prefix="/api/v1", dependencies=[Depends(require_rule)])
        late.add_api_route("/late", forgotten)
        app.include_router(late)
        asyncio.run(_check_refusals(app, create_app(embedded_state), str(key)))
    finally:
        state.db.dispose()
        embedded_state.db.dispose()


async def _check_refusals(app: FastAPI, embedded_app: FastAPI, key: str) -> None:
    admin = {"Authorization": f"Bearer {key}"}
    async with _client(app) as client:
        for path in ("/folders/forgotten", "/folders/forgotten-ctx", "/late"):
            for headers in (admin, {}):
                r = await client.get(path, headers=headers)
                assert r.status_code == 403, (path, r.text)
                assert r.json()["error"]["type"] == "PermissionDenied"
                assert "no authorization rule" in r.json()["error"]["message"]
        # The same kind of route with a rule serves whom the rule allows.
        r = await client.get("/folders/declared", headers=admin)
        assert r.json() == {"served": "admin"}
        assert (await client.get("/folders/declared")).status_code == 401
    # Embedded mode, where requests without a key act as the local admin, refuses too.
    async with _client(embedded_app) as client:
        assert (await client.get("/folders/forgotten-ctx")).status_code == 403
        assert (await client.get("/folders/declared")).json() == {"served": "local"}


def _client(app: FastAPI) -> httpx.AsyncClient:
    transport = httpx.ASGITransport(app=app, raise_app_exceptions=False)
    return httpx.AsyncClient(transport=transport, base_url="http://assay/api/v1")
