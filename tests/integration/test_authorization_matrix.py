"""Every REST route x {no key, wrong key, owner, another user, admin}: the status each gets,
on a real server. The routes come from the app's own OpenAPI table, so a new route without a
probe here fails `test_every_route_has_a_probe` (and one without an authorization rule
already refuses everyone: test_auth.py).

Expectations: no key or a wrong key -> 401 (public routes excepted); an admin-only route ->
403 for users; a route that names the owner's object (by id, name or owner-qualified ref)
-> 404 for another user, who must not learn it exists; collection routes act on the
caller's own namespace. Destructive probes get a fresh target for each caller that may
succeed, and the owner's object must still be there after another user's attempt.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from PIL import Image

from assay import hub
from tests.conftest import Server, use_home

WHO = ("none", "wrong", "owner", "other", "admin")
SCRIPT = """
import os
from assay import report
report.metrics({"accuracy": 0.5})
report.samples([{"id": "a.png", "correct": True}, {"id": "b.png", "correct": False}])
open("chart.png", "wb").write(b"not really a png")
report.artifact("chart.png")
import time; time.sleep(float(os.environ.get("SLEEP", "0")))
"""
_names = itertools.count(1)


def fresh(prefix: str) -> str:
    return f"{prefix}{next(_names)}"


@dataclass
class World:
    server: Server
    keys: dict[str, str]
    model_id: str
    dataset_id: str
    evaluation: str
    job_evaluation: str

    def client(self, who: str) -> httpx.Client:
        headers = {}
        if who == "wrong":
            headers["Authorization"] = "Bearer not-a-key"
        elif who != "none":
            headers["Authorization"] = f"Bearer {self.keys[who]}"
        return httpx.Client(base_url=self.server.url + "/api/v1", headers=headers, timeout=60)

    def as_alice(self) -> httpx.Client:
        return self.client("owner")


def _setup(server: Server, tmp: Path) -> World:
    admin = server.client(server.admin_key)
    keys = {"admin": server.admin_key}
    for who, name in (("owner", "alice"), ("other", "bob")):
        keys[who] = admin.post("/users", json={"name": name}).json()["apiKey"]
    hub.login(host=server.url, api_key=keys["owner"])
    src = tmp / "src"
    src.mkdir()
    (src / "w.bin").write_bytes(b"weights")
    (src / "a.txt").write_text("a")
    Image.new("RGB", (8, 8), (200, 0, 0)).save(src / "a.png")
    (src / "eval.py").write_text(SCRIPT)
    m = hub.create_folder(type_="model", name="f").create_asset(name="m")
    m.create_commit(message="w", add=[str(src / "w.bin")])
    m.create_branch("b")
    m.create_tag("t")
    d = hub.create_folder(type_="dataset", name="d").create_asset(name="ds")
    d.create_commit(message="d", add=[str(src / "a.txt"), str(src / "a.png")])
    hub.create_folder(type_="code", name="c").create_asset(name="e").create_commit(
        message="c", add=[str(src / "eval.py")]
    )
    ev = hub.create_evaluation("f/m", dataset="d/ds", metrics={"accuracy": 0.5})
    job = hub.create_job(name="j", model="f/m", dataset="d/ds", code="c/e", launch="eval.py")
    v = job.get_version("V0001").wait(timeout=120)
    assert v.status == "Completed", v.data["message"]
    hub.create_endpoint("ep", base_url="http://10.255.0.9:9/v1", model="x")
    hub.create_runtime("rt", "numpy\n")
    with server.client(keys["owner"]) as alice:
        assert alice.put("/me/settings/cols", json={"hidden": []}).status_code == 200
    return World(server, keys, m.id, d.id, ev["id"], v.data["evaluationId"])


@pytest.fixture(scope="module")
def world(
    tmp_path_factory: pytest.TempPathFactory, postgres: object, s3: object
) -> Iterator[World]:
    """One server and one set of alice's objects for a whole module (setting them up is
    most of the cost); the SDK's home is private to it."""
    from assay.core.config import get_settings
    from assay.sdk import embedded
    from tests.conftest import backing_env, start_server

    tmp = tmp_path_factory.mktemp("world")
    (tmp / "server-home").mkdir()
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, tmp / "sdk-home")
        server = start_server(tmp / "server-home", backing_env(postgres, s3))
        try:
            yield _setup(server, tmp)
        finally:
            if hub._client is not None:
                hub._client.close()
            hub._client = None
            embedded.stop_all()
            get_settings.cache_clear()
            server.process.terminate()
            server.process.wait(timeout=30)


# ---- probes: (method, path template) -> (who, world) -> (path, body, params) -----------------

Probe = Callable[[str, World], tuple[str, Any, dict[str, Any]]]


def _made(w: World, path: str, body: dict[str, Any]) -> Any:
    """Something alice creates for one probe (a fresh target a caller may destroy)."""
    with w.as_alice() as c:
        r = c.post(path, json=body)
        assert r.status_code == 201, r.text
        return r.json()


def _job_version(w: World) -> str:
    return str(_made(w, "/jobs/j/versions", {"params": {"x": 1}})["name"])


def _asset(w: World) -> str:
    return str(_made(w, "/assets", {"type": "model", "folder": "f", "name": fresh("a")})["id"])


def _own(who: str) -> bool:
    """Whether this caller may succeed on alice's object (a fresh one is made for it)."""
    return who in ("owner", "admin")


def _ref(who: str, ref: str, kind: str) -> str:
    """Alice's ref as this caller names it: admins qualify it with her name."""
    return f"alice/{kind}/{ref}" if who == "admin" else ref


PROBES: dict[tuple[str, str], Probe] = {
    ("GET", "/api/v1/health"): lambda who, w: ("/health", None, {}),
    ("GET", "/api/v1/users/me"): lambda who, w: ("/users/me", None, {}),
    ("GET", "/api/v1/users"): lambda who, w: ("/users", None, {}),
    ("POST", "/api/v1/users"): lambda who, w: ("/users", {"name": fresh("u")}, {}),
    ("POST", "/api/v1/folders"): lambda who, w: (
        "/folders",
        {"type": "model", "name": fresh("f")},
        {},
    ),
    ("GET", "/api/v1/folders"): lambda who, w: ("/folders", None, {}),
    ("DELETE", "/api/v1/folders/{type}/{name}"): lambda who, w: (
        f"/folders/model/{_fresh_folder(w) if _own(who) else 'f'}",
        None,
        {"owner": "alice"} if who == "admin" else {},
    ),
    ("POST", "/api/v1/assets"): lambda who, w: (
        "/assets",
        {"type": "model", "folder": "f", "name": fresh("a")},
        {},
    ),
    ("GET", "/api/v1/assets"): lambda who, w: (
        "/assets",
        None,
        {"type": "model", "folder": "f", **({"owner": "alice"} if who == "admin" else {})},
    ),
    ("GET", "/api/v1/assets/lookup"): lambda who, w: (
        "/assets/lookup",
        None,
        {"ref": _ref(who, "f/m", "model")},
    ),
    ("GET", "/api/v1/assets/{asset_id}"): lambda who, w: (f"/assets/{w.model_id}", None, {}),
    ("DELETE", "/api/v1/assets/{asset_id}"): lambda who, w: (
        f"/assets/{_asset(w) if _own(who) else w.model_id}",
        None,
        {},
    ),
    ("GET", "/api/v1/assets/{asset_id}/resolve"): lambda who, w: (
        f"/assets/{w.model_id}/resolve",
        None,
        {"rev": "main"},
    ),
    ("GET", "/api/v1/assets/{asset_id}/branches"): lambda who, w: (
        f"/assets/{w.model_id}/branches",
        None,
        {},
    ),
    ("POST", "/api/v1/assets/{asset_id}/branches"): lambda who, w: (
        f"/assets/{w.model_id}/branches",
        {"name": fresh("br")},
        {},
    ),
    ("DELETE", "/api/v1/assets/{asset_id}/branches/{name}"): lambda who, w: (
        f"/assets/{w.model_id}/branches/{_branch(w) if _own(who) else 'b'}",
        None,
        {},
    ),
    ("GET", "/api/v1/assets/{asset_id}/tags"): lambda who, w: (
        f"/assets/{w.model_id}/tags",
        None,
        {},
    ),
    ("POST", "/api/v1/assets/{asset_id}/tags"): lambda who, w: (
        f"/assets/{w.model_id}/tags",
        {"name": fresh("tg")},
        {},
    ),
    ("DELETE", "/api/v1/assets/{asset_id}/tags/{name}"): lambda who, w: (
        f"/assets/{w.model_id}/tags/{_tag(w) if _own(who) else 't'}",
        None,
        {},
    ),
    ("GET", "/api/v1/assets/{asset_id}/commits"): lambda who, w: (
        f"/assets/{w.model_id}/commits",
        None,
        {},
    ),
    ("POST", "/api/v1/assets/{asset_id}/commits"): lambda who, w: (
        f"/assets/{w.model_id}/commits",
        {"message": "m", "branch": _branch(w) if _own(who) else "b", "delete": ["w.bin"]},
        {},
    ),
    ("GET", "/api/v1/assets/{asset_id}/files"): lambda who, w: (
        f"/assets/{w.model_id}/files",
        None,
        {},
    ),
    ("GET", "/api/v1/assets/{asset_id}/files/{path}"): lambda who, w: (
        f"/assets/{w.model_id}/files/w.bin",
        None,
        {},
    ),
    ("POST", "/api/v1/blobs/missing"): lambda who, w: (
        "/blobs/missing",
        {"hashes": ["0" * 64]},
        {},
    ),
    ("PUT", "/api/v1/blobs/{sha256}"): lambda who, w: (
        "/blobs/" + "ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb",
        b"a",
        {},
    ),
    ("POST", "/api/v1/evaluations"): lambda who, w: (
        "/evaluations",
        {
            "model": _ref(who, "f/m", "model"),
            "dataset": _ref(who, "d/ds", "dataset"),
            "metrics": {"a": 1},
        },
        {},
    ),
    ("GET", "/api/v1/evaluations"): lambda who, w: ("/evaluations", None, {}),
    ("GET", "/api/v1/evaluations/{evaluation_id}"): lambda who, w: (
        f"/evaluations/{w.evaluation}",
        None,
        {},
    ),
    ("DELETE", "/api/v1/evaluations/{evaluation_id}"): lambda who, w: (
        f"/evaluations/{_evaluation(w) if _own(who) else w.evaluation}",
        None,
        {},
    ),
    ("GET", "/api/v1/evaluations/{evaluation_id}/samples"): lambda who, w: (
        f"/evaluations/{w.job_evaluation}/samples",
        None,
        {},
    ),
    ("GET", "/api/v1/evaluations/{evaluation_id}/artifacts/{name}"): lambda who, w: (
        f"/evaluations/{w.job_evaluation}/artifacts/chart.png",
        None,
        {},
    ),
    ("GET", "/api/v1/evaluations/{evaluation_id}/samples/{sample}/preview.png"): lambda who, w: (
        f"/evaluations/{w.job_evaluation}/samples/a.png/preview.png",
        None,
        {},
    ),
    ("GET", "/api/v1/jobs"): lambda who, w: ("/jobs", None, {}),
    ("POST", "/api/v1/jobs"): lambda who, w: (
        "/jobs",
        {
            "name": fresh("j"),
            "model": _ref(who, "f/m", "model"),
            "dataset": _ref(who, "d/ds", "dataset"),
            "code": _ref(who, "c/e", "code"),
            "launch": "eval.py",
        },
        {},
    ),
    ("DELETE", "/api/v1/jobs/{name}"): lambda who, w: (
        f"/jobs/{_job(w) if _own(who) else 'j'}",
        None,
        {},
    ),
    ("POST", "/api/v1/jobs/{name}/versions"): lambda who, w: ("/jobs/j/versions", {}, {}),
    ("GET", "/api/v1/jobs/{name}/versions"): lambda who, w: ("/jobs/j/versions", None, {}),
    ("GET", "/api/v1/jobs/{name}/versions/{version}"): lambda who, w: (
        "/jobs/j/versions/V0001",
        None,
        {},
    ),
    ("DELETE", "/api/v1/jobs/{name}/versions/{version}"): lambda who, w: (
        f"/jobs/j/versions/{_job_version(w) if _own(who) else 'V0001'}",
        None,
        {},
    ),
    ("POST", "/api/v1/jobs/{name}/versions/{version}/terminate"): lambda who, w: (
        f"/jobs/j/versions/{_job_version(w) if _own(who) else 'V0001'}/terminate",
        None,
        {},
    ),
    ("POST", "/api/v1/jobs/{name}/versions/{version}/rescore"): lambda who, w: (
        "/jobs/j/versions/V0001/rescore",
        {},
        {},
    ),
    ("GET", "/api/v1/jobs/{name}/versions/{version}/tasks"): lambda who, w: (
        "/jobs/j/versions/V0001/tasks",
        None,
        {},
    ),
    ("GET", "/api/v1/jobs/{name}/versions/{version}/logs"): lambda who, w: (
        "/jobs/j/versions/V0001/logs",
        None,
        {},
    ),
    ("GET", "/api/v1/jobs/{name}/versions/{version}/logs/stream"): lambda who, w: (
        "/jobs/j/versions/V0001/logs/stream",
        None,
        {},
    ),
    ("GET", "/api/v1/pools"): lambda who, w: ("/pools", None, {}),
    ("POST", "/api/v1/pools"): lambda who, w: ("/pools", {"name": fresh("p"), "cpu": 1}, {}),
    ("GET", "/api/v1/usage"): lambda who, w: ("/usage", None, {}),
    ("GET", "/api/v1/endpoints"): lambda who, w: ("/endpoints", None, {}),
    ("POST", "/api/v1/endpoints"): lambda who, w: (
        "/endpoints",
        {"name": fresh("ep"), "baseUrl": "http://10.255.0.9:9/v1", "model": "x"},
        {},
    ),
    ("GET", "/api/v1/endpoints/{name}"): lambda who, w: ("/endpoints/ep", None, {}),
    ("DELETE", "/api/v1/endpoints/{name}"): lambda who, w: (
        f"/endpoints/{_endpoint(w) if who == 'owner' else 'ep'}",
        None,
        {},
    ),
    ("POST", "/api/v1/endpoints/{name}/estimate"): lambda who, w: (
        "/endpoints/ep/estimate",
        {"dataset": "d/ds"},
        {},
    ),
    ("GET", "/api/v1/runtimes"): lambda who, w: ("/runtimes", None, {}),
    ("POST", "/api/v1/runtimes"): lambda who, w: (
        "/runtimes",
        {"name": fresh("rt"), "requirements": "numpy\n"},
        {},
    ),
    ("DELETE", "/api/v1/runtimes/{name}"): lambda who, w: (
        f"/runtimes/{_runtime(w) if who == 'owner' else 'rt'}",
        None,
        {},
    ),
    ("POST", "/api/v1/compare"): lambda who, w: (
        "/compare",
        {"baseline": w.evaluation, "candidates": [w.evaluation]},
        {},
    ),
    ("POST", "/api/v1/diff"): lambda who, w: (
        "/diff",
        {"baseline": w.job_evaluation, "candidate": w.job_evaluation},
        {},
    ),
    ("PUT", "/api/v1/pins"): lambda who, w: (
        "/pins",
        {"evaluation": w.evaluation, "model": _ref(who, "f/m", "model")},
        {},
    ),
    ("GET", "/api/v1/me/settings"): lambda who, w: ("/me/settings", None, {}),
    ("GET", "/api/v1/me/settings/{key}"): lambda who, w: ("/me/settings/cols", None, {}),
    ("PUT", "/api/v1/me/settings/{key}"): lambda who, w: (
        "/me/settings/cols2",
        {"hidden": ["x"]},
        {},
    ),
    ("DELETE", "/api/v1/me/settings/{key}"): lambda who, w: ("/me/settings/cols", None, {}),
}


def _fresh_folder(w: World) -> str:
    return str(_made(w, "/folders", {"type": "model", "name": fresh("ff")})["name"])


def _branch(w: World) -> str:
    return str(_made(w, f"/assets/{w.model_id}/branches", {"name": fresh("br")})["name"])


def _tag(w: World) -> str:
    return str(_made(w, f"/assets/{w.model_id}/tags", {"name": fresh("tg")})["name"])


def _evaluation(w: World) -> str:
    body = {"model": "f/m", "dataset": "d/ds", "metrics": {"a": 1}}
    return str(_made(w, "/evaluations", body)["id"])


def _job(w: World) -> str:
    name = fresh("jj")
    body = {"model": "f/m", "dataset": "d/ds", "code": "c/e", "launch": "eval.py"}
    _made(w, "/jobs", {"name": name, **body})
    return name


def _endpoint(w: World) -> str:
    body = {"name": fresh("ep"), "baseUrl": "http://10.255.0.9:9/v1", "model": "x"}
    return str(_made(w, "/endpoints", body)["name"])


def _runtime(w: World) -> str:
    return str(_made(w, "/runtimes", {"name": fresh("rt"), "requirements": "numpy\n"})["name"])


def _routes(w: World) -> list[tuple[str, str, str]]:
    spec = httpx.get(w.server.url + "/openapi.json", timeout=30).json()
    return [
        (method.upper(), path, op.get("x-assay-auth", "none"))
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    ]


# What the owner (and an admin) get where it is not a plain success: the request is
# refused for what it asks, not for who asks (the same answer for both).
OWNER_STATUS: dict[tuple[str, str], int] = {
    # a custom job's version cannot be re-scored (llm only)
    ("POST", "/api/v1/jobs/{name}/versions/{version}/rescore"): 422,
    # the endpoint cannot estimate a dataset that is not llm JSONL
    ("POST", "/api/v1/endpoints/{name}/estimate"): 422,
}


def _call(w: World, who: str, method: str, template: str) -> tuple[int, str]:
    path, body, params = PROBES[(method, template)](who, w)
    with w.client(who) as c:
        if isinstance(body, bytes):
            r = c.request(method, path, content=body, params=params)
        elif body is None:
            r = c.request(method, path, params=params)
        else:
            r = c.request(method, path, json=body, params=params)
        return r.status_code, r.text[:160]


def test_every_route_has_a_probe(world: World) -> None:
    routes = {(m, p) for m, p, _ in _routes(world)}
    missing = sorted(routes - set(PROBES))
    assert not missing, f"routes without an authorization probe here: {missing}"
    assert not sorted(set(PROBES) - routes), "probes for routes that no longer exist"


def test_the_authorization_matrix(world: World) -> None:
    wrong: list[str] = []
    for method, template, rule in _routes(world):
        if (method, template) not in PROBES:
            continue
        for who in ("none", "wrong", "other", "owner", "admin"):
            status, text = _call(world, who, method, template)
            expected = _expected(method, template, rule, who)
            if status not in expected:
                wrong.append(f"{who:>5} {method} {template}: {status} {text}, expected {expected}")
    assert not wrong, "\n".join(wrong)
    # Another user's attempts changed nothing of alice's.
    with world.as_alice() as c:
        assert c.get(f"/assets/{world.model_id}").status_code == 200
        assert c.get(f"/evaluations/{world.evaluation}").status_code == 200
        assert {b["name"] for b in c.get(f"/assets/{world.model_id}/branches").json()} >= {"b"}
        assert c.get("/jobs/j/versions/V0001").json()["state"] == "Completed"
        assert c.get("/endpoints/ep").status_code == 200


def _expected(method: str, template: str, rule: str, who: str) -> set[int]:
    success = (
        {OWNER_STATUS[(method, template)]}
        if (method, template) in OWNER_STATUS
        else {
            200,
            201,
        }
    )
    if rule == "public":
        return {200}
    if who in ("none", "wrong"):
        return {401}
    if rule == "admin":
        return success if who == "admin" else {403}
    if who == "owner":
        return success
    if (method, template) in ANYONE:
        return success
    if (method, template) in OWN_NAMESPACE:
        # Names are per user: another user, and an admin too, find no such name of theirs.
        return {404}
    if who == "admin":  # admins reach every user's objects by id and owner-qualified ref
        return success
    return {404}  # another user learns nothing of alice's objects


# Routes that name objects in the caller's own namespace (folder, job, endpoint, runtime and
# setting names): an admin addressing alice's by bare name is looking in its own.
OWN_NAMESPACE = {
    ("DELETE", "/api/v1/folders/{type}/{name}"),
    ("POST", "/api/v1/assets"),
    ("DELETE", "/api/v1/jobs/{name}"),
    ("POST", "/api/v1/jobs/{name}/versions"),
    ("GET", "/api/v1/jobs/{name}/versions"),
    ("GET", "/api/v1/jobs/{name}/versions/{version}"),
    ("DELETE", "/api/v1/jobs/{name}/versions/{version}"),
    ("POST", "/api/v1/jobs/{name}/versions/{version}/terminate"),
    ("POST", "/api/v1/jobs/{name}/versions/{version}/rescore"),
    ("GET", "/api/v1/jobs/{name}/versions/{version}/tasks"),
    ("GET", "/api/v1/jobs/{name}/versions/{version}/logs"),
    ("GET", "/api/v1/jobs/{name}/versions/{version}/logs/stream"),
    ("GET", "/api/v1/endpoints/{name}"),
    ("DELETE", "/api/v1/endpoints/{name}"),
    ("POST", "/api/v1/endpoints/{name}/estimate"),
    ("DELETE", "/api/v1/runtimes/{name}"),
    ("GET", "/api/v1/me/settings/{key}"),
    ("DELETE", "/api/v1/me/settings/{key}"),
}

# Routes that act on the caller's own collection whoever calls (listing, creating under a new
# name, content-addressed uploads): every signed-in user succeeds.
ANYONE = {
    ("GET", "/api/v1/users/me"),
    ("POST", "/api/v1/folders"),
    ("GET", "/api/v1/folders"),
    ("GET", "/api/v1/evaluations"),
    ("POST", "/api/v1/blobs/missing"),
    ("PUT", "/api/v1/blobs/{sha256}"),
    ("GET", "/api/v1/jobs"),
    ("GET", "/api/v1/pools"),
    ("GET", "/api/v1/usage"),
    ("GET", "/api/v1/endpoints"),
    ("POST", "/api/v1/endpoints"),
    ("GET", "/api/v1/runtimes"),
    ("POST", "/api/v1/runtimes"),
    ("GET", "/api/v1/me/settings"),
    ("PUT", "/api/v1/me/settings/{key}"),
}
