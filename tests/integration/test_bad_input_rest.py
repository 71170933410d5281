"""Every bad input of issue 2 point 6 through the REST API of a real server: a 4xx with a
JSON body ``{"error": {"type", "message"}}``, never a 500, and nothing changed afterwards."""

from __future__ import annotations

import hashlib
import json
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from tests.conftest import Server
from tests.integration.test_bad_input import BAD_NAMES, BAD_SYNTAX


def refused(response: httpx.Response, status: int, family: str, says: str = "") -> None:
    """A 4xx answer with the error body every client can rely on."""
    shown = f"{response.request.method} {response.request.url} -> {response.status_code}: "
    shown += response.text[:500]
    assert response.status_code == status, shown
    assert response.headers["content-type"].startswith("application/json"), shown
    err = response.json()["error"]
    assert err["type"] == family, shown
    assert isinstance(err["message"], str) and err["message"], shown
    assert says in err["message"], shown


def _rest_state(c: httpx.Client, asset_id: str) -> dict[str, Any]:
    return {
        path: c.get(path).json()
        for path in (
            "/folders",
            "/assets?type=model&folder=f",
            f"/assets/{asset_id}/branches",
            f"/assets/{asset_id}/tags",
            f"/assets/{asset_id}/commits",
            f"/assets/{asset_id}/files",
            "/evaluations",
        )
    }


def _upload(c: httpx.Client, data: bytes) -> str:
    sha = hashlib.sha256(data).hexdigest()
    assert c.put(f"/blobs/{sha}", content=data).status_code == 200
    return sha


@pytest.fixture
def rest(server: Server) -> Iterator[tuple[httpx.Client, str, str]]:
    """An admin client, a model f/m with one commit on main, and that commit's blob's sha."""
    with server.client(server.admin_key) as c:
        assert c.post("/folders", json={"type": "model", "name": "f"}).status_code == 201
        asset = c.post("/assets", json={"type": "model", "folder": "f", "name": "m"}).json()
        sha = _upload(c, b"weights")
        r = c.post(
            f"/assets/{asset['id']}/commits",
            json={"message": "w", "add": [{"path": "w.bin", "sha256": sha, "size": 7}]},
        )
        assert r.status_code == 201, r.text
        yield c, asset["id"], sha


def test_rest_bad_names_and_bodies_are_422_json(rest: tuple[httpx.Client, str, str]) -> None:
    c, asset_id, _ = rest
    before = _rest_state(c, asset_id)
    for bad in BAD_NAMES + BAD_SYNTAX:
        refused(c.post("/folders", json={"type": "model", "name": bad}), 422, "InvalidInput")
        body = {"type": "model", "folder": "f", "name": bad}
        refused(c.post("/assets", json=body), 422, "InvalidInput")
        refused(c.post(f"/assets/{asset_id}/branches", json={"name": bad}), 422, "InvalidInput")
        refused(c.post(f"/assets/{asset_id}/tags", json={"name": bad}), 422, "InvalidInput")
    refused(c.post("/folders", json={"type": "widget", "name": "x"}), 422, "InvalidInput", "type")
    refused(c.post("/folders", json={"type": "model", "name": "f"}), 409, "Conflict", "exists")
    refused(c.post(f"/assets/{asset_id}/branches", json={"name": "main"}), 409, "Conflict")

    # Bodies that are not JSON, not an object, or of the wrong shape: 422, never 500.
    json_type = {"content-type": "application/json"}
    for raw in (b'{"type": "model",', b"[1, 2]", b"", b"null", b"\xff\xfe", b'"x"'):
        refused(c.post("/folders", content=raw, headers=json_type), 422, "InvalidInput")
    for body in (
        {"type": 1, "name": ["x"]},
        {"type": "model"},
        {"type": "model", "name": "x", "extra": True},
        {"type": "model", "name": None},
    ):
        refused(c.post("/folders", json=body), 422, "InvalidInput", "invalid request")
    commit_bodies: list[Any] = [
        {"message": 1, "add": []},
        {"message": "x", "add": "w.bin"},
        {"message": "x", "add": [{"path": "a", "sha256": "0" * 64, "size": -1}]},
        {"message": "x", "add": [{"path": "a", "sha256": "0" * 64}]},
        {"message": "x", "delete": [1]},
    ]
    for body in commit_bodies:
        refused(c.post(f"/assets/{asset_id}/commits", json=body), 422, "InvalidInput")
    refused(c.post("/evaluations", json={"model": "f/m", "metrics": {}}), 422, "InvalidInput")
    refused(c.post("/blobs/missing", json={"hashes": ["nothex"]}), 422, "InvalidInput", "SHA-256")
    refused(c.get("/evaluations", params={"limit": "many"}), 422, "InvalidInput", "limit")
    refused(c.get("/evaluations", params={"limit": 0}), 422, "InvalidInput", "limit")
    refused(c.get("/folders", params={"type": "widget"}), 422, "InvalidInput")
    refused(c.get("/assets/lookup", params={"ref": "a/b/c/d/e"}), 422, "InvalidInput", "ref")

    # Unknown things are 404 with the same body shape.
    unknown = str(uuid.uuid4())
    refused(c.get(f"/evaluations/{unknown}"), 404, "NotFound", "no evaluation with ID")
    refused(c.get("/evaluations/garbage"), 404, "NotFound", "no evaluation with ID")
    refused(c.delete(f"/evaluations/{unknown}"), 404, "NotFound")
    refused(c.get(f"/assets/{unknown}"), 404, "NotFound", "no asset with ID")
    refused(c.get("/assets/lookup", params={"ref": "f/nope"}), 404, "NotFound")
    refused(c.get("/assets/lookup", params={"ref": "f/m:nope"}), 404, "NotFound", "branches: main")
    refused(c.get(f"/assets/{asset_id}/commits", params={"rev": "tag/x"}), 404, "NotFound")
    refused(c.delete(f"/assets/{asset_id}/branches/main"), 422, "InvalidInput", "cannot be deleted")
    refused(c.delete(f"/assets/{asset_id}/tags/nope"), 404, "NotFound")
    refused(c.delete("/folders/model/nope"), 404, "NotFound")
    assert _rest_state(c, asset_id) == before


def test_rest_commit_paths_and_unknown_blobs_are_refused(
    rest: tuple[httpx.Client, str, str],
) -> None:
    c, asset_id, sha = rest
    before = _rest_state(c, asset_id)
    url = f"/assets/{asset_id}/commits"

    def add(path: str, sha256: str = sha, size: int = 7) -> dict[str, Any]:
        return {"message": "x", "add": [{"path": path, "sha256": sha256, "size": size}]}

    refused(c.post(url, json=add("../x")), 422, "InvalidInput", "may not leave the asset")
    refused(c.post(url, json=add("a/../../x")), 422, "InvalidInput", "may not leave the asset")
    refused(c.post(url, json=add("/abs")), 422, "InvalidInput", "is absolute")
    refused(c.post(url, json=add("a\\b")), 422, "InvalidInput", "backslash")
    refused(c.post(url, json=add("a\x00b")), 422, "InvalidInput", "NUL")
    refused(c.post(url, json=add("")), 422, "InvalidInput", "empty file path")
    refused(c.post(url, json=add("x" * 256)), 422, "InvalidInput", "longer than 255")
    for bad in ("../x", "/etc/passwd", "a\x00b"):
        refused(c.post(url, json={"message": "x", "delete": [bad]}), 422, "InvalidInput")
    refused(c.post(url, json={"message": "x"}), 422, "InvalidInput", "nothing to commit")
    refused(c.post(url, json=add("w.bin")), 422, "InvalidInput", "identical to the branch head")
    refused(c.post(url, json=add("new.bin", size=8)), 422, "InvalidInput", "size of")
    refused(c.post(url, json={**add("n"), "message": " "}), 422, "InvalidInput", "message")
    refused(c.post(url, json={**add("n"), "branch": "nope"}), 404, "NotFound", "no branch")
    # A hash the caller never uploaded (here: one nobody uploaded) cannot be committed.
    never = hashlib.sha256(b"never uploaded").hexdigest()
    refused(c.post(url, json=add("n", never)), 422, "InvalidInput", "was not uploaded by you")
    refused(c.post(url, json=add("n", "ABC")), 422, "InvalidInput", "SHA-256")
    assert _rest_state(c, asset_id) == before


def test_rest_upload_must_hash_to_its_url(
    server: Server, rest: tuple[httpx.Client, str, str]
) -> None:
    c, asset_id, _ = rest
    before = _rest_state(c, asset_id)
    announced = hashlib.sha256(b"what the client claims").hexdigest()
    sent = b"what it actually sends"
    refused(c.put(f"/blobs/{announced}", content=sent), 422, "InvalidInput", "not " + announced)
    refused(c.put("/blobs/not-a-sha", content=sent), 422, "InvalidInput", "SHA-256")
    # Neither the announced nor the sent content was kept, and neither can be committed.
    actual = hashlib.sha256(sent).hexdigest()
    missing = c.post("/blobs/missing", json={"hashes": [announced, actual]}).json()["missing"]
    assert missing == sorted([announced, actual])
    stored = [p.name for p in (server.home / "files").rglob("*") if p.is_file()]
    assert announced not in stored and actual not in stored
    assert not [n for n in stored if n.startswith(".upload-")]
    for sha256 in (announced, actual):
        body = {"message": "x", "add": [{"path": "n", "sha256": sha256, "size": len(sent)}]}
        refused(c.post(f"/assets/{asset_id}/commits", json=body), 422, "InvalidInput")
    assert _rest_state(c, asset_id) == before
    # Sent under its own hash, the same content is accepted and can be committed.
    assert _upload(c, sent) == actual
    body = {"message": "x", "add": [{"path": "n", "sha256": actual, "size": len(sent)}]}
    assert c.post(f"/assets/{asset_id}/commits", json=body).status_code == 201


def test_rest_oversized_json_body_is_413(rest: tuple[httpx.Client, str, str]) -> None:
    c, asset_id, _ = rest
    before = _rest_state(c, asset_id)
    big = json.dumps({"type": "model", "name": "x", "pad": "x" * (9 * 1024 * 1024)}).encode()
    headers = {"content-type": "application/json"}
    refused(c.post("/folders", content=big, headers=headers), 413, "PayloadTooLarge")
    hashes = {"hashes": ["0" * 64] * 150_000}  # 9.9 MB, within the list's length limit
    refused(c.post("/blobs/missing", json=hashes), 413, "PayloadTooLarge")

    def chunked() -> Iterator[bytes]:  # no Content-Length: counted as it arrives
        for i in range(0, len(big), 1024 * 1024):
            yield big[i : i + 1024 * 1024]

    refused(c.post("/folders", content=chunked(), headers=headers), 413, "PayloadTooLarge")
    assert _rest_state(c, asset_id) == before
    assert c.get("/health").status_code == 200  # and the server is still fine
