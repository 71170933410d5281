"""Hostile uploads (issue 9, item 2): links and special files in what a user adds, trees
that cannot be written to a disk, 10,000 tiny files, a planted link in a download
directory, and request bodies built to hurt the server (a gzip bomb, many multipart parts,
huge headers, a negative Content-Length). Each is refused with a clear error; nothing is
written outside the store and no commit is half-made."""

from __future__ import annotations

import os
import socket
import zlib
from pathlib import Path

import httpx
import pytest

from assay import errors, hub
from tests.conftest import Server

CANARY = "canary: must never be uploaded or overwritten\n"


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A directory to add, beside a canary file outside it."""
    (tmp_path / "canary.txt").write_text(CANARY)
    d = tmp_path / "tree"
    (d / "sub").mkdir(parents=True)
    (d / "a.txt").write_text("a")
    (d / "sub" / "b.txt").write_text("b")
    return d


def _branch() -> hub.Branch:
    asset = hub.create_folder(type_="dataset", name="up").create_asset(name="d")
    return asset.get_branch("main")


def _refused(branch: hub.Branch, directory: Path, says: str) -> None:
    before = branch.list_commits()
    with pytest.raises(errors.InvalidInput, match=says):
        branch.create_commit(message="x", add=[str(directory)])
    assert branch.list_commits() == before  # no commit, not even a partial one


def test_links_and_special_files_in_an_added_directory(
    home: Path, tree: Path, tmp_path: Path
) -> None:
    branch = _branch()
    canary = tmp_path / "canary.txt"
    (tree / "inside-link.txt").symlink_to(tree / "a.txt")  # stays inside: fine
    branch.create_commit(message="ok", add=[str(tree)])
    assert {f["path"] for f in branch.list_files()} == {
        "tree/a.txt",
        "tree/sub/b.txt",
        "tree/inside-link.txt",
    }

    cases = [
        ("escape.txt", lambda p: p.symlink_to(canary), "symbolic link to .*outside"),
        ("etc", lambda p: p.symlink_to("/etc"), "symbolic link to /etc, outside"),
        ("zero", lambda p: p.symlink_to("/dev/zero"), "outside"),
        ("dangling", lambda p: p.symlink_to(tree / "nothing"), "a symbolic link to nothing"),
        ("hard.txt", lambda p: os.link(canary, p), "hard link to a file outside"),
        ("fifo", lambda p: os.mkfifo(p), "not a regular file"),
    ]
    for name, make, says in cases:
        path = tree / "sub" / name
        make(path)
        try:
            _refused(branch, tree, says)
        finally:
            path.unlink()
    assert canary.read_text() == CANARY
    with pytest.raises(errors.InvalidInput, match="not a regular file or directory"):
        branch.create_commit(message="x", add=["/dev/zero"])


def test_trees_a_disk_cannot_hold_are_refused_whole(
    home: Path, tree: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    branch = _branch()
    branch.create_commit(message="one", add=[str(tree)])
    clash = tree.parent / "clash"
    clash.mkdir()
    (clash / "TREE").mkdir()
    (clash / "TREE" / "A.txt").write_text("case")
    monkeypatch.chdir(clash)
    _refused(branch, Path("TREE"), "differ only by case")
    (clash / "tree").mkdir()
    (clash / "tree" / "a.txt").mkdir()  # a directory where the branch has a file
    (clash / "tree" / "a.txt" / "x").write_text("x")
    _refused(branch, Path("tree"), "both a file and a directory")


def test_ten_thousand_tiny_files_commit_whole(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    many = tmp_path / "many"
    many.mkdir()
    for i in range(10_000):
        (many / f"{i:05d}.txt").write_text(str(i % 97))  # 97 distinct contents
    branch = _branch()
    monkeypatch.chdir(tmp_path)
    commit = branch.create_commit(message="10k", add=["many"])
    files = branch.list_files()
    assert len(files) == 10_000 and files[0]["path"] == "many/00000.txt"
    assert branch.list_commits()[0]["id"] == commit["id"]
    # (Not downloaded here: a download is one request per file, ~25 ms each on this machine.)


def test_a_planted_link_in_the_download_directory_is_not_written_through(
    home: Path, tree: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    branch = _branch()
    monkeypatch.chdir(tree)
    branch.create_commit(message="x", add=["a.txt", "sub"])
    out = tmp_path / "out"
    out.mkdir()
    (out / "a.txt").symlink_to(tmp_path / "canary.txt")  # planted before the download
    (out / "sub").symlink_to(tmp_path)  # and a directory link out of it
    with pytest.raises(errors.InvalidInput, match="outside"):
        branch.download(out)
    assert (tmp_path / "canary.txt").read_text() == CANARY
    assert not (tmp_path / "b.txt").exists()


def _raw(server: Server, request: bytes, timeout: float = 30) -> bytes:
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=timeout) as s:
        s.sendall(request)
        chunks = []
        try:
            while chunk := s.recv(65536):
                chunks.append(chunk)
        except (ConnectionResetError, TimeoutError):
            pass
    return b"".join(chunks)


def _status(response: bytes) -> int:
    return int(response.split(b" ", 2)[1]) if response.startswith(b"HTTP/1.1 ") else 0


def _rss(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    return 0


def test_hostile_request_bodies_and_headers(server: Server) -> None:
    auth = f"Authorization: Bearer {server.admin_key}\r\n".encode()
    start = _rss(server.process.pid)
    # A gzip bomb: 1 GiB of zeros in about 1 MB. Request bodies are never inflated.
    deflate = zlib.compressobj(9, zlib.DEFLATED, 31)  # 31: the gzip container
    zeros = b"\0" * 1024**2
    bomb = b"".join(deflate.compress(zeros) for _ in range(1024)) + deflate.flush()
    assert len(bomb) < 2 * 1024**2
    with server.client(server.admin_key) as c:
        r = c.post(
            "/folders",
            content=bomb,
            headers={"content-type": "application/json", "content-encoding": "gzip"},
        )
        assert r.status_code == 400 and r.json()["error"]["type"] == "InvalidInput", r.text
        sha = "ab" * 32  # a blob upload of the bomb is stored as the bytes sent: no match
        r = c.put(f"/blobs/{sha}", content=bomb, headers={"content-encoding": "gzip"})
        assert r.status_code == 422 and "SHA-256" in r.text
        # 100,000 multipart parts: no route takes multipart; it is refused as what it is.
        parts = b"".join(
            b'--b\r\nContent-Disposition: form-data; name="f%d"\r\n\r\nx\r\n' % i
            for i in range(100_000)
        )
        r = c.post(
            "/folders",
            content=parts + b"--b--\r\n",
            headers={"content-type": "multipart/form-data; boundary=b"},
        )
        assert r.status_code == 422, r.text
        assert c.get("/folders").json() == []  # none of it made anything
    # A 1 MB header, 10,000 headers, a negative or a doubled Content-Length.
    huge = b"GET /api/v1/folders HTTP/1.1\r\nHost: x\r\n" + auth
    assert 400 <= _status(_raw(server, huge + b"X-Big: " + b"a" * 1024**2 + b"\r\n\r\n")) < 500
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(10_000))
    assert _status(_raw(server, huge + many + b"\r\n")) == 431
    post = b"POST /api/v1/folders HTTP/1.1\r\nHost: x\r\n" + auth
    assert _status(_raw(server, post + b"Content-Length: -5\r\n\r\n{}")) == 400
    doubled = post + b"Content-Length: 2\r\nContent-Length: 40\r\n\r\n{}"
    assert _status(_raw(server, doubled)) == 400
    smuggled = post + b"Content-Length: 2\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n"
    assert 400 <= _status(_raw(server, smuggled)) < 500
    # The server is fine, and held none of it in memory (the bomb was 1 GiB inflated).
    assert httpx.get(server.url + "/api/v1/health", timeout=10).status_code == 200
    assert _rss(server.process.pid) - start < 200 * 1024**2
