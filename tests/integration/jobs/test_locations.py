"""Storage locations instead of registered refs, and the allow-list that guards them."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from assay import errors, hub
from tests.conftest import Server, start_server
from tests.integration.jobs.conftest import make_assets


def _job(name: str, model_path: str) -> hub.Job:
    return hub.create_job(
        name=name, model_path=model_path, dataset="f/d", code="s/e", launch="eval.py"
    )


def test_embedded_reads_the_users_own_directory(assets: Path, tmp_path: Path) -> None:
    model_dir = tmp_path / "weights"
    model_dir.mkdir()
    (model_dir / "w.bin").write_bytes(b"abc")
    v = _job("loc", str(model_dir)).get_version("V0001")
    assert v.data["modelPath"] == str(model_dir.resolve())
    created_hash = v.data["modelPathSha256"]
    assert len(created_hash) == 64
    v.wait(timeout=120)
    assert v.status == "Completed", v.data["message"]
    assert "no evaluation record" in v.data["message"] and v.data["evaluationId"] is None
    assert v.data["modelPathSha256"] == created_hash  # what the worker read
    v2 = hub.get_job("loc").create_version(model="f/m")  # back to a registered ref
    assert v2.data["modelPath"] is None and v2.data["modelCommit"]
    with pytest.raises(errors.NotFound, match="not an existing directory"):
        _job("missing", str(tmp_path / "nope"))
    with pytest.raises(errors.InvalidInput, match="exactly one"):
        hub.create_job(
            name="both",
            model="f/m",
            model_path=str(model_dir),
            dataset="f/d",
            code="s/e",
            launch="eval.py",
        )


def test_server_allows_only_configured_roots(home: Path, tmp_path: Path) -> None:
    allowed = tmp_path / "allowed"
    (allowed / "model").mkdir(parents=True)
    (allowed / "model" / "w.bin").write_bytes(b"w")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("server secret")
    os.symlink(secret, allowed / "escape")  # a symlink inside the root pointing out of it
    (allowed / "sneaky").mkdir()
    os.symlink(secret / "key.txt", allowed / "sneaky" / "key.txt")
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    srv: Server = start_server(server_home, {"ASSAY_STORAGE_ROOTS": str(allowed)})
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        make_assets(tmp_path)
        for location in (
            str(secret),
            f"{allowed}/../secret",
            str(allowed / "escape"),
            f"file://{secret}",
            "/proc/self/root/etc",
            "/",
        ):
            with pytest.raises(errors.PermissionDenied, match="not under a root"):
                _job("bad", location)
        with pytest.raises(errors.PermissionDenied, match="points outside"):
            _job("bad", str(allowed / "sneaky"))
        with pytest.raises(errors.InvalidInput, match="only local directories"):
            _job("bad", "http://169.254.169.254/latest")
        assert hub.list_jobs() == []
        v = _job("ok", f"file://{allowed / 'model'}").get_version("V0001").wait(timeout=120)
        assert v.status == "Completed", v.data["message"]
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=30)


def test_location_is_checked_again_when_the_worker_reads_it(
    home: Path, tmp_path: Path, server: Server
) -> None:
    """A server with no roots refuses every location; and a location swapped for a symlink
    after the version was created is refused by the worker."""
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    with pytest.raises(errors.PermissionDenied, match="not under a root"):
        _job("none", str(tmp_path))

    allowed = tmp_path / "allowed"
    (allowed / "model").mkdir(parents=True)
    (allowed / "model" / "w.bin").write_bytes(b"w")
    secret = tmp_path / "secret"
    secret.mkdir()
    (secret / "key.txt").write_text("server secret")
    (tmp_path / "server-home-2").mkdir()
    srv = start_server(tmp_path / "server-home-2", {"ASSAY_STORAGE_ROOTS": str(allowed)})
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        make_assets(tmp_path / "second")
        hub.create_pool("one", cpu=1)
        blocker = hub.create_job(
            name="blocker",
            model="f/m",
            dataset="f/d",
            code="s/e",
            launch="eval.py",
            params={"sleep": 2},
            pool="one",
        )
        victim = hub.create_job(
            name="victim",
            model_path=str(allowed / "model"),
            dataset="f/d",
            code="s/e",
            launch="eval.py",
            pool="one",
        )
        (allowed / "model" / "w.bin").unlink()
        (allowed / "model").rmdir()
        os.symlink(secret, allowed / "model")  # swapped while the version waits in the queue
        v = victim.get_version("V0001").wait(timeout=120)
        assert v.status == "Failed"
        assert "cannot read the model location" in v.data["message"]
        assert "server secret" not in v.logs()
        assert blocker.get_version("V0001").wait(timeout=120).status == "Completed"
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=30)
