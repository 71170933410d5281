"""Concurrent commits to one branch never lose each other; overlapping stale commits are
refused, non-overlapping ones rebased."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx

from assay import hub
from tests.conftest import ROOT, Server, clean_env

WRITER = """
import sys
from pathlib import Path
from assay import hub
worker, rounds, work = int(sys.argv[1]), int(sys.argv[2]), Path(sys.argv[3])
asset = hub.get_asset("f/shared", "model")
for i in range(rounds):
    p = work / f"w{worker}-{i}.txt"
    p.write_text(f"writer {worker} round {i}")
    asset.create_commit(message=f"w{worker} r{i}", add=[str(p)], branch="main")
"""


def test_concurrent_commits_from_processes_are_all_kept(home: Path, tmp_path: Path) -> None:
    hub.create_folder(type_="model", name="f").create_asset(name="shared")
    work = tmp_path / "work"
    work.mkdir()
    writers, rounds = 6, 4
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, str(w), str(rounds), str(work)],
            env=clean_env(home),
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
    asset = hub.get_asset("f/shared", "model")
    commits = asset.list_commits("main")
    messages = {c["message"] for c in commits}
    expected = {f"w{w} r{i}" for w in range(writers) for i in range(rounds)}
    assert expected <= messages
    assert len(commits) == writers * rounds + 1  # plus the initial commit
    files = {f["path"] for f in asset.list_files("main")}
    assert files == {f"w{w}-{i}.txt" for w in range(writers) for i in range(rounds)}


def _upload(c: httpx.Client, data: bytes) -> dict[str, object]:
    import hashlib

    sha = hashlib.sha256(data).hexdigest()
    assert c.put(f"/blobs/{sha}", content=data).status_code == 200
    return {"sha256": sha, "size": len(data)}


def test_stale_commit_rebases_unless_paths_overlap(server: Server) -> None:
    with server.client(server.admin_key) as c:
        c.post("/folders", json={"type": "model", "name": "f"}).raise_for_status()
        asset = c.post("/assets", json={"type": "model", "folder": "f", "name": "m"}).json()
        base = c.get(f"/assets/{asset['id']}/resolve", params={"rev": "main"}).json()
        parent = base["commit"]["id"]
        blob = _upload(c, b"one")

        first = c.post(
            f"/assets/{asset['id']}/commits",
            json={"message": "a", "add": [{"path": "a.txt", **blob}], "parent": parent},
        )
        assert first.status_code == 201
        # Same path, from the same stale parent: refused, branch unchanged.
        clash = c.post(
            f"/assets/{asset['id']}/commits",
            json={
                "message": "a again",
                "add": [{"path": "a.txt", **_upload(c, b"two")}],
                "parent": parent,
            },
        )
        assert clash.status_code == 409
        assert "a.txt" in clash.json()["error"]["message"]
        head = c.get(f"/assets/{asset['id']}/resolve").json()["commit"]["id"]
        assert head == first.json()["id"]
        # Another path from the same stale parent: rebased onto the new head.
        other = c.post(
            f"/assets/{asset['id']}/commits",
            json={"message": "b", "add": [{"path": "b.txt", **blob}], "parent": parent},
        )
        assert other.status_code == 201
        assert other.json()["parent"] == first.json()["id"]
        files = c.get(f"/assets/{asset['id']}/files").json()
        assert json.dumps(sorted(f["path"] for f in files)) == '["a.txt", "b.txt"]'
