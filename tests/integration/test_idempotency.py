"""``Idempotency-Key`` on creates, on a real server: a repeat returns the first response and
creates nothing; the key with another body is refused; keys are per user, survive a restart,
hold between two servers on one database, expire; the SDK retries a timed-out create with its
key and exactly one record results."""

from __future__ import annotations

import hashlib
import http.server
import itertools
import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import pytest

from assay.sdk.client import Client
from tests.conftest import DATABASE, Server, start_server


def _stop(srv: Server) -> None:
    srv.process.terminate()
    srv.process.wait(timeout=30)


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, postgres: object, s3: object
) -> Iterator[Server]:
    """One server for the module (each test signs in as its own new users)."""
    from tests.conftest import backing_env

    home = tmp_path_factory.mktemp("idempotency") / "server-home"
    home.mkdir()
    srv = start_server(home, backing_env(postgres, s3))
    yield srv
    _stop(srv)


_names = itertools.count(1)


def _user(server: Server, name: str) -> httpx.Client:
    with server.client(server.admin_key) as admin:
        r = admin.post("/users", json={"name": f"{name}{next(_names)}"})
        assert r.status_code == 201, r.text
    return server.client(r.json()["apiKey"])


def _post(c: httpx.Client, path: str, body: dict[str, Any], key: str) -> httpx.Response:
    return c.post(path, json=body, headers={"Idempotency-Key": key})


def _commit_one_file(c: httpx.Client, asset_id: str, data: bytes, key: str) -> httpx.Response:
    sha = hashlib.sha256(data).hexdigest()
    assert c.put(f"/blobs/{sha}", content=data).status_code == 200
    entry = {"path": "w.bin", "sha256": sha, "size": len(data)}
    return _post(c, f"/assets/{asset_id}/commits", {"message": "w", "add": [entry]}, key)


def test_a_repeated_create_returns_the_first_response_and_creates_nothing(
    server: Server,
) -> None:
    with _user(server, "alice") as alice:
        first = _post(alice, "/folders", {"type": "model", "name": "f"}, "k-folder")
        again = _post(alice, "/folders", {"type": "model", "name": "f"}, "k-folder")
        assert first.status_code == again.status_code == 201
        assert again.content == first.content
        assert again.headers["idempotency-replayed"] == "true"
        assert "idempotency-replayed" not in first.headers

        asset = _post(alice, "/assets", {"type": "model", "folder": "f", "name": "m"}, "k-a")
        asset_again = _post(alice, "/assets", {"type": "model", "folder": "f", "name": "m"}, "k-a")
        assert asset.status_code == asset_again.status_code == 201
        assert asset_again.json() == asset.json()
        model = asset.json()["id"]

        commit = _commit_one_file(alice, model, b"weights-1", "k-commit")
        commit_again = _commit_one_file(alice, model, b"weights-1", "k-commit")
        assert commit.status_code == commit_again.status_code == 201, commit.text
        assert commit_again.json() == commit.json()

        assert _post(alice, "/folders", {"type": "dataset", "name": "d"}, "k-d").status_code == 201
        d = _post(alice, "/assets", {"type": "dataset", "folder": "d", "name": "ds"}, "k-ds")
        assert d.status_code == 201, d.text
        assert _commit_one_file(alice, d.json()["id"], b"rows", "k-dcommit").status_code == 201
        ev_body = {"model": "f/m", "dataset": "d/ds", "metrics": {"accuracy": 0.5}}
        evs = [_post(alice, "/evaluations", ev_body, "k-ev") for _ in range(3)]
        assert [r.status_code for r in evs] == [201] * 3, evs[0].text
        assert len({r.content for r in evs}) == 1

        # Exactly one of each, as the lists show.
        assert [f["name"] for f in alice.get("/folders").json()] == ["d", "f"]
        assets = alice.get("/assets", params={"type": "model", "folder": "f"}).json()
        assert [a["name"] for a in assets] == ["m"]
        history = alice.get(f"/assets/{model}/commits", params={"rev": "main"}).json()
        assert [c["message"] for c in history] == ["w", "Initial commit"]
        assert len(alice.get("/evaluations").json()) == 1
        # Without a key, a second create is a new request (and here a name conflict).
        assert alice.post("/folders", json={"type": "model", "name": "f"}).status_code == 409


def test_the_same_key_with_another_request_is_refused_and_changes_nothing(
    server: Server,
) -> None:
    with _user(server, "alice") as alice:
        assert _post(alice, "/folders", {"type": "model", "name": "a"}, "k1").status_code == 201
        other = _post(alice, "/folders", {"type": "model", "name": "b"}, "k1")
        assert other.status_code == 422
        assert "already used with a different request" in other.json()["error"]["message"]
        # Another route with the same key is another request too.
        assets = _post(alice, "/assets", {"type": "model", "folder": "a", "name": "m"}, "k1")
        assert assets.status_code == 422
        assert [f["name"] for f in alice.get("/folders").json()] == ["a"]
        assert alice.get("/assets", params={"type": "model", "folder": "a"}).json() == []
        for bad in ("", "x" * 256, "has space", "tab\tkey"):
            r = alice.post(
                "/folders", json={"type": "model", "name": "c"}, headers={"Idempotency-Key": bad}
            )
            assert r.status_code == 422, (bad, r.text)
            assert "Idempotency-Key" in r.json()["error"]["message"]
        assert [f["name"] for f in alice.get("/folders").json()] == ["a"]
    # Not signed in: the 401 comes first, whatever the key.
    with server.client(None) as nobody:
        r = nobody.post(
            "/folders", json={"type": "model", "name": "c"}, headers={"Idempotency-Key": ""}
        )
        assert r.status_code == 401


def test_a_failed_create_releases_its_key(server: Server) -> None:
    with _user(server, "alice") as alice:
        body = {"type": "model", "folder": "f", "name": "m"}
        assert _post(alice, "/assets", body, "k").status_code == 404  # no folder f yet
        assert alice.post("/folders", json={"type": "model", "name": "f"}).status_code == 201
        assert _post(alice, "/assets", body, "k").status_code == 201  # not a replayed 404


def test_a_user_create_is_never_stored_with_its_api_key(server: Server) -> None:
    """Creating a user answers with its API key, which must not be kept anywhere: the header
    is ignored there, and a repeat is refused as a duplicate name (so no duplicate user)."""
    with server.client(server.admin_key) as admin:
        body = {"name": f"carol{next(_names)}"}
        first = _post(admin, "/users", body, "k-user")
        again = _post(admin, "/users", body, "k-user")
        assert first.status_code == 201
        assert again.status_code == 409
        assert "already exists" in again.json()["error"]["message"]
        names = [u["name"] for u in admin.get("/users").json()]
        assert names.count(body["name"]) == 1


def test_keys_are_per_user(server: Server) -> None:
    with _user(server, "alice") as alice, _user(server, "bob") as bob:
        a = _post(alice, "/folders", {"type": "model", "name": "f"}, "shared-key")
        b = _post(bob, "/folders", {"type": "model", "name": "f"}, "shared-key")
        assert a.status_code == b.status_code == 201
        assert a.json()["owner"].startswith("alice")
        assert b.json()["owner"].startswith("bob")
        assert "idempotency-replayed" not in b.headers


def test_keys_hold_in_a_new_server_process_and_between_servers_on_one_database(
    server: Server,
) -> None:
    """The claims live in the database alone: a server process started after a key was
    used (what a restart is) replays it, and two servers racing on one key create once."""
    with _user(server, "alice") as alice:
        first = _post(alice, "/folders", {"type": "model", "name": "f"}, "k")
        assert first.status_code == 201
        key = alice.headers["authorization"][7:]
    env = {"ASSAY_DATABASE_URL": server.database_url} if server.database_url else {}
    two = start_server(server.home, env)
    try:
        a1, a2 = server.client(key), two.client(key)
        via_two = _post(a2, "/folders", {"type": "model", "name": "f"}, "k")
        assert via_two.status_code == 201
        assert via_two.content == first.content
        # Twelve identical requests at once, split between the two servers: one record,
        # and every answer is the winner's response (or a clear 409 "in progress").
        body = {"type": "model", "folder": "f", "name": "m"}
        with ThreadPoolExecutor(12) as pool:
            answers = list(
                pool.map(lambda i: _post((a1, a2)[i % 2], "/assets", body, "race"), range(12))
            )
        ok = [r for r in answers if r.status_code == 201]
        assert ok, [r.text for r in answers]
        assert len({r.content for r in ok}) == 1
        for r in answers:
            assert r.status_code == 201 or (
                r.status_code == 409 and r.json()["error"]["details"]["in_progress"]
            ), r.text
        assert len(a1.get("/assets", params={"type": "model", "folder": "f"}).json()) == 1
        a1.close()
        a2.close()
    finally:
        _stop(two)


@pytest.mark.skipif(DATABASE != "sqlite", reason="edits the embedded SQLite database")
def test_keys_expire_after_a_day(server: Server) -> None:
    body = {"type": "model", "name": "f"}
    with _user(server, "alice") as alice:
        assert _post(alice, "/folders", body, "k-expiring").status_code == 201
        with sqlite3.connect(server.home / "assay.db") as db:
            db.execute(
                "UPDATE idempotency_keys SET created_at = datetime('now', '-25 hours') "
                "WHERE key = 'k-expiring'"
            )
        # Expired: a new request, which now conflicts with the folder the first one made.
        assert _post(alice, "/folders", body, "k-expiring").status_code == 409


class _Stalling(http.server.ThreadingHTTPServer):
    """A loopback proxy in front of the server that passes the first create on, lets the
    server answer it, and then holds the answer back past the client's timeout."""

    daemon_threads = True

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.seen: list[tuple[str, str, str | None, bool]] = []  # method, path, key, replayed
        self.stalled = False
        self.lock = threading.Lock()
        super().__init__(("127.0.0.1", 0), _Forward)


class _Forward(http.server.BaseHTTPRequestHandler):
    server: _Stalling

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _forward(self) -> None:
        srv = self.server
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host",)}
        r = httpx.request(
            self.command, srv.upstream + self.path, content=body, headers=headers, timeout=60
        )
        stall = False
        with srv.lock:
            if self.command == "POST" and not srv.stalled:
                srv.stalled = stall = True
            key, replayed = self.headers.get("idempotency-key"), "idempotency-replayed" in r.headers
            srv.seen.append((self.command, self.path, key, replayed))
        if stall:
            time.sleep(4)  # the client (2 s timeout) gave up and retried meanwhile
            return
        self.send_response(r.status_code)
        for name in ("content-type", "idempotency-replayed"):
            if name in r.headers:
                self.send_header(name, r.headers[name])
        self.send_header("content-length", str(len(r.content)))
        self.end_headers()
        self.wfile.write(r.content)

    do_GET = do_POST = _forward


@pytest.fixture
def stalling(server: Server) -> Iterator[_Stalling]:
    proxy = _Stalling(server.url)
    thread = threading.Thread(target=proxy.serve_forever, daemon=True)
    thread.start()
    yield proxy
    proxy.shutdown()
    proxy.server_close()


def test_the_sdk_retries_a_timed_out_create_with_its_key_and_one_record_results(
    home: Path, server: Server, stalling: _Stalling
) -> None:
    key = _user(server, "alice").headers["authorization"][7:]
    host = f"http://127.0.0.1:{stalling.server_address[1]}"
    sdk = Client(host=host, api_key=key, timeout=2.0)
    try:
        folder = sdk.post("/folders", {"type": "model", "name": "f"})
        assert folder["name"] == "f"
        assert folder["owner"].startswith("alice")
        listed = sdk.get("/folders")
    finally:
        sdk.close()
    posts = [(k, replayed) for method, _, k, replayed in stalling.seen if method == "POST"]
    # The first attempt reached the server and created the folder; its answer was lost; the
    # retry carried the same key and got the first response back.
    assert len(posts) >= 2, stalling.seen
    keys = {k for k, _ in posts}
    assert len(keys) == 1
    assert None not in keys
    assert not posts[0][1]  # the first attempt created it
    assert posts[-1][1]  # the last one got that response back
    assert [f["name"] for f in listed] == ["f"]
