"""Hostile path, name and ref parameters on every route: a canary file sits outside the
store, and every path parameter of every OpenAPI operation (and the ref/rev/path-like query
parameters) is replaced by traversal forms that earlier platforms' fixes missed: ``../``,
``..\\``, ``%2e%2e%2f``, double encoding, ``;``, ``#``, ``?``, absolute paths, ``file://``,
``//proc/self/root/…`` and NUL. Requests go out byte for byte over a raw socket (an HTTP
client would normalise the dot segments away). Every answer is a 4xx, never a 500 or a
success, never the canary's content, and the canary is never changed.

Blobs are addressed by hash and no filesystem path is built from a client string, so this is
a check of the construction, by attack.
"""

from __future__ import annotations

import hashlib
import json
import re
import socket
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from tests.conftest import Server
from tests.integration.test_authorization_matrix import PROBES, World, _routes, world  # noqa: F401

CANARY_TEXT = "canary-7f3a9c1e-do-not-read"
QUERY_NAMES = {"ref", "rev", "path", "name", "type", "folder", "owner", "key"}


def _hostile(canary: Path) -> list[str]:
    """Traversal forms, each as the raw bytes of a URL path segment."""
    target = str(canary)
    up = "../" * 12
    return [
        up + target.lstrip("/"),
        "..%2f" * 12 + target.lstrip("/").replace("/", "%2f"),
        "%2e%2e%2f" * 12 + target.lstrip("/").replace("/", "%2f"),
        "%252e%252e%252f" * 12 + target.lstrip("/").replace("/", "%252f"),
        "..%5c" * 12 + target.lstrip("/").replace("/", "%5c"),
        "..\\..\\..\\" + target.lstrip("/").replace("/", "\\"),
        "..;/" * 12 + target.lstrip("/"),
        "x%3b..%2f..%2f" + target.lstrip("/"),
        "x%23" + target,
        "x%3f" + target,
        target.replace("/", "%2f"),
        "/" + target,
        "file:%2f%2f" + target.replace("/", "%2f"),
        "%2f%2fproc%2fself%2froot" + target.replace("/", "%2f"),
        "x%00" + target.replace("/", "%2f"),
    ]


def _raw(server: Server, key: str, method: str, path: str, body: Any) -> tuple[int, bytes]:
    """One HTTP/1.1 request with the path sent exactly as given."""
    parts = urlsplit(server.url)
    data = b""
    headers = [f"Host: {parts.netloc}", f"Authorization: Bearer {key}", "Connection: close"]
    if body is not None:
        data = body if isinstance(body, bytes) else json.dumps(body).encode()
        headers += ["Content-Type: application/json", f"Content-Length: {len(data)}"]
    head = f"{method} {path} HTTP/1.1\r\n" + "\r\n".join(headers) + "\r\n\r\n"
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as s:
        s.sendall(head.encode("latin-1", "backslashreplace") + data)
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    raw = b"".join(chunks)
    status = int(raw.split(b" ", 2)[1]) if raw.startswith(b"HTTP/") else 0
    return status, raw


def test_hostile_parameters_are_refused_and_the_canary_untouched(
    world: World,  # noqa: F811
    tmp_path: Path,
) -> None:
    canary = tmp_path / "outside" / "canary.txt"
    canary.parent.mkdir()
    canary.write_text(CANARY_TEXT)
    before = hashlib.sha256(canary.read_bytes()).hexdigest(), canary.stat().st_mtime_ns
    key = world.keys["owner"]
    bad: list[str] = []
    tried = 0
    seen: dict[int, int] = {}
    for method, template, rule in _routes(world):
        if rule == "public" or (method, template) not in PROBES:
            continue
        names = re.findall(r"{(\w+)}", template)
        path, body, params = PROBES[(method, template)]("owner", world)
        shape = ("/api/v1" + path).split("/")
        tmpl = template.split("/")
        for name in names:
            index = tmpl.index("{" + name + "}")
            for value in _hostile(canary):
                segs = list(shape)
                segs[index] = value
                query = "&".join(f"{k}={v}" for k, v in params.items() if k not in QUERY_NAMES)
                url = "/".join(segs) + (f"?{query}" if query else "")
                status, raw = _raw(world.server, key, method, url, body)
                tried += 1
                seen[status] = seen.get(status, 0) + 1
                if not 400 <= status < 500 or CANARY_TEXT.encode() in raw:
                    bad.append(f"{method} {url[:120]} -> {status} {raw[-160:]!r}")
        for qname in sorted(set(params) & QUERY_NAMES):
            for value in _hostile(canary):
                query = "&".join(f"{k}={value if k == qname else v}" for k, v in params.items())
                url = f"/api/v1{path}?{query}"
                status, raw = _raw(world.server, key, method, url, body)
                tried += 1
                # A filter that matches nothing may answer 200 with an empty page.
                if (
                    status >= 500
                    or CANARY_TEXT.encode() in raw
                    or (200 <= status < 300 and method != "GET")
                ):
                    bad.append(f"{method} {url[:120]} -> {status} {raw[-160:]!r}")
    assert tried > 500
    assert 401 not in seen and 403 not in seen, seen  # refused for what was asked, signed in
    assert not bad, "\n".join(bad[:40])
    after = hashlib.sha256(canary.read_bytes()).hexdigest(), canary.stat().st_mtime_ns
    assert after == before


def test_stored_html_is_never_served_as_a_page(world: World, tmp_path: Path) -> None:  # noqa: F811
    """Stored XSS through an artifact or file viewer: whatever a file holds or is named, it
    comes back as an attachment of type octet-stream with nosniff."""
    page = tmp_path / "evil.html"
    page.write_text("<html><script>alert(document.cookie)</script></html>")
    with world.as_alice() as c:
        from assay import hub

        hub.get_asset("f/m").create_commit(message="html", add=[str(page)])
        for path in (
            f"/assets/{world.model_id}/files/evil.html",
            f"/evaluations/{world.job_evaluation}/artifacts/chart.png",
        ):
            r = c.get(path)
            assert r.status_code == 200, r.text
            assert r.headers["content-type"] == "application/octet-stream"
            assert r.headers["content-disposition"].startswith("attachment;")
            assert r.headers["x-content-type-options"] == "nosniff"
