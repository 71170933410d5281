"""URLs users supply (issue 9, item 5): endpoints may not point at this machine or the cloud
metadata service in any spelling, unless an admin registers them or allows the network;
redirects are never followed; the worker checks again when it connects."""

from __future__ import annotations

import asyncio
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

from assay import hub
from assay.core import netguard
from assay.core.errors import InvalidInput
from assay.evaluators.llm.client import GuardedResolver
from tests.conftest import Server, start_server
from tests.integration.evaluators.helpers import commit_dir

SPECIAL = [
    "http://127.0.0.1:8000/v1",
    "http://localhost:8000/v1",
    "http://127.1/v1",
    "http://0x7f000001/v1",
    "http://[::1]:8000/v1",
    "http://0.0.0.0/v1",
    "http://169.254.169.254/latest",
    "http://2852039166/latest",  # 169.254.169.254 as one decimal number
    "http://0xa9fea9fe/latest",
    "http://0251.0376.0251.0376/latest",  # octal
    "http://[::ffff:169.254.169.254]/latest",
    "http://[::ffff:a9fe:a9fe]/latest",
    "http://[fe80::1]/v1",
    "http://224.0.0.1/v1",
]
ORDINARY = ["http://10.20.30.40:8000/v1", "http://192.168.1.5/v1", "https://203.0.113.9/v1"]


@pytest.mark.parametrize("url", SPECIAL)
def test_special_addresses_are_refused_in_every_spelling(url: str) -> None:
    with pytest.raises(InvalidInput, match="ASSAY_ALLOWED_NETWORKS"):
        netguard.check_url(url, [])


@pytest.mark.parametrize("url", ORDINARY)
def test_ordinary_addresses_pass(url: str) -> None:
    netguard.check_url(url, [])


def test_an_allowed_network_lets_its_addresses_through() -> None:
    allowed = netguard.networks("127.0.0.0/8, ::1/128")
    netguard.check_url("http://127.0.0.1:9/v1", allowed)
    netguard.check_url("http://[::1]/v1", allowed)
    with pytest.raises(InvalidInput, match=r"169\.254\.169\.254"):
        netguard.check_url("http://2852039166/", allowed)
    with pytest.raises(InvalidInput, match="not a network"):
        netguard.networks("10.0.0.0/8,nonsense")


def test_the_workers_resolver_refuses_names_that_lead_to_special_addresses() -> None:
    async def resolve(host: str) -> object:
        resolver = GuardedResolver([])
        try:
            return await resolver.resolve(host, 80)
        finally:
            await resolver.close()

    with pytest.raises(OSError, match="loopback"):
        asyncio.run(resolve("localhost"))


@pytest.fixture
def two_users(tmp_path: Path) -> tuple[Server, str]:
    home = tmp_path / "home"
    home.mkdir()
    srv = start_server(home)
    with srv.client(srv.admin_key) as c:
        made = c.post("/users", json={"name": "alice"})
        assert made.status_code == 201, made.text
        alice = made.json()["apiKey"]
    yield srv, alice
    srv.process.terminate()
    srv.process.wait(timeout=15)


def _register(srv: Server, key: str, name: str, url: str) -> tuple[int, str]:
    with srv.client(key) as c:
        r = c.post("/endpoints", json={"name": name, "baseUrl": url, "model": "m"})
    return r.status_code, r.text


def test_users_cannot_register_special_addresses_but_admins_can(
    two_users: tuple[Server, str],
) -> None:
    srv, alice = two_users
    for i, url in enumerate(["http://169.254.169.254/v1", "http://2852039166/v1"]):
        status, text = _register(srv, alice, f"meta{i}", url)
        assert status == 422, text
        assert "link-local" in json.loads(text)["error"]["message"]
    status, text = _register(srv, alice, "local", "http://127.0.0.1:9/v1")
    assert status == 422 and "loopback" in text
    with srv.client(alice) as c:
        assert c.get("/endpoints").json() == []  # nothing half-made
    assert _register(srv, alice, "lan", "http://10.1.2.3:8000/v1")[0] == 201
    assert _register(srv, srv.admin_key, "local", "http://127.0.0.1:9/v1")[0] == 201


def test_an_admin_allowed_network_is_open_to_users_and_checked_again_at_run_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    allowed = {"ASSAY_ALLOWED_NETWORKS": "127.0.0.0/8"}
    srv = start_server(home, allowed)
    try:
        with srv.client(srv.admin_key) as c:
            alice = c.post("/users", json={"name": "alice"}).json()["apiKey"]
        assert _register(srv, alice, "local", "http://127.0.0.1:9/v1")[0] == 201
        hub.login(host=srv.url, api_key=alice)
        _qa_dataset(tmp_path, monkeypatch)
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=15)
    # The admin takes the allowance back: the registered endpoint stays, the worker refuses.
    srv = start_server(home)
    try:
        hub.login(host=srv.url, api_key=alice)
        job = hub.create_job(name="qa", type="llm", endpoint="local", dataset="qa/set")
        v = job.get_version("V0001").wait(timeout=300)
        assert v.status == "Failed"
        assert "127.0.0.1 is 127.0.0.1, a loopback address" in v.data["message"] + v.logs()
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=15)


def _qa_dataset(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    d = tmp_path / "qa"
    d.mkdir()
    (d / "data.jsonl").write_text(json.dumps({"id": "q", "prompt": "hi", "reference": "x"}) + "\n")
    commit_dir("dataset", "qa", "set", d, monkeypatch)


class _Canary(BaseHTTPRequestHandler):
    hits: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        _Canary.hits.append(self.path)
        self.send_response(200)
        self.end_headers()

    do_POST = do_GET

    def log_message(self, *args: object) -> None:
        pass


class _Redirector(BaseHTTPRequestHandler):
    target = ""

    def do_POST(self) -> None:
        self.send_response(307)
        self.send_header("Location", _Redirector.target)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


def _serve(handler: type[BaseHTTPRequestHandler]) -> ThreadingHTTPServer:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    return httpd


def test_redirects_are_never_followed(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    canary, redirector = _serve(_Canary), _serve(_Redirector)
    try:
        _Redirector.target = f"http://127.0.0.1:{canary.server_port}/latest/meta-data"
        hub.create_endpoint(
            "moved", base_url=f"http://127.0.0.1:{redirector.server_port}/v1", model="m"
        )
        _qa_dataset(tmp_path, monkeypatch)
        job = hub.create_job(name="qa", type="llm", endpoint="moved", dataset="qa/set")
        v = job.get_version("V0001").wait(timeout=300)
    finally:
        canary.shutdown()
        redirector.shutdown()
    assert v.status == "Failed"
    assert "redirects are not followed" in v.data["message"] + v.logs()
    assert _Canary.hits == []
