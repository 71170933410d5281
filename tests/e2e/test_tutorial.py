"""Seed 001's tutorial, end to end: the CLI as a real executable and the SDK, each on the
embedded instance and against a real `assay server` process."""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path

import pytest

from assay import hub
from tests.conftest import Server, clean_env, run_assay

MODEL = "image-classification/mnist-cnn-keras"


def _files(tmp: Path) -> Path:
    work = tmp / "work"
    (work / "model" / "sub").mkdir(parents=True)
    (work / "model" / "weights.bin").write_bytes(bytes(range(256)) * 40)
    (work / "model" / "sub" / "config.json").write_text('{"layers": 3}')
    (work / "old.txt").write_text("old")
    return work


def _tutorial_cli(home: Path, work: Path, env: dict[str, str]) -> None:
    def ok(*args: str) -> str:
        res = run_assay(home, *args, cwd=work, env=env)
        assert res.returncode == 0, f"assay {' '.join(args)} failed:\n{res.stderr}"
        return res.stdout

    ok("create", "folder", "model/image-classification")
    ok("create", "model", MODEL)
    ok("create", "branch", f"{MODEL}:v1")
    ok("commit", f"{MODEL}:v1", "-m", "first", "-a", "model", "-a", "old.txt")
    ok("commit", f"{MODEL}:v1", "-m", "drop old", "-d", "old.txt")
    files = json.loads(ok("ls", "file", f"{MODEL}:v1", "-o", "json"))
    assert [f["path"] for f in files] == ["model/sub/config.json", "model/weights.bin"]
    ok("create", "folder", "dataset/image-classification")
    ok("create", "dataset", "image-classification/mnist")

    res = run_assay(
        home,
        "create",
        "evaluation",
        f"{MODEL}:branch/v1",
        "-d",
        "image-classification/mnist",
        "-m",
        "loss=1.47",
        "-m",
        "accuracy=0.99",
        "-m",
        "note=ok",
        cwd=work,
        env=env,
    )
    assert res.returncode == 0, res.stderr
    head = json.loads(ok("ls", "commit", f"{MODEL}:v1", "-o", "json"))[0]["id"]
    assert f"Creating evaluation of commit {head[:8]} of Model mnist-cnn-keras" in res.stderr
    eval_id = res.stdout.strip()

    listing = ok("ls", "evaluation", f"{MODEL}:{head[:8]}")
    assert re.search(rf"^ID:\s+{eval_id}$", listing, re.M)
    assert re.search(rf"^MODEL_COMMIT:\s+{head}$", listing, re.M)
    assert re.search(
        r"^MODEL:\s+\w+/model/image-classification/mnist-cnn-keras:branch/v1$", listing, re.M
    )
    assert re.search(r"^UPLOADED:\s+\d+s ago$", listing, re.M)
    rows = json.loads(ok("ls", "evaluation", f"{MODEL}:v1", "--output", "json"))
    assert [r["id"] for r in rows] == [eval_id]
    assert rows[0]["results"]["metric"] == {"loss": 1.47, "accuracy": 0.99, "note": "ok"}
    assert rows[0]["modelBranch"] == "v1" and rows[0]["source"] == "cli"
    shown = json.loads(ok("get", "evaluation", eval_id, "-o", "json"))
    assert shown == rows[0]

    out = tmp_dl = work / "dl"
    ok("download", f"{MODEL}:v1", "-o", str(out))
    got = tmp_dl / "model" / "weights.bin"
    assert (
        hashlib.sha256(got.read_bytes()).hexdigest()
        == hashlib.sha256((work / "model" / "weights.bin").read_bytes()).hexdigest()
    )
    assert not (tmp_dl / "old.txt").exists()

    res = run_assay(home, "delete", "evaluation", eval_id, cwd=work, env=env)
    assert res.returncode == 0 and f"Deleting evaluation with ID {eval_id}" in res.stderr
    assert json.loads(ok("ls", "evaluation", "-o", "json")) == []


def test_cli_tutorial_embedded(tmp_path: Path) -> None:
    home = tmp_path / "home"
    _tutorial_cli(home, _files(tmp_path), clean_env(home))
    assert (home / "assay.db").exists()


def test_cli_tutorial_against_server(tmp_path: Path, server: Server) -> None:
    home = tmp_path / "client-home"
    env = clean_env(home)
    res = run_assay(home, "login", "--host", server.url, "--api-key", server.admin_key, env=env)
    assert res.returncode == 0, res.stderr
    assert f"Logged in to {server.url} as user admin" in res.stderr
    assert oct((home / "credentials.json").stat().st_mode & 0o777) == "0o600"
    _tutorial_cli(home, _files(tmp_path), env)
    # Everything went to the server's home, nothing to a local database.
    assert not (home / "assay.db").exists()
    with server.client(server.admin_key) as c:
        assert [f["name"] for f in c.get("/folders").json()] == [
            "image-classification",
            "image-classification",
        ]
    res = run_assay(home, "logout", env=env)
    assert res.returncode == 0 and not (home / "credentials.json").exists()


def _tutorial_sdk(tmp_path: Path) -> None:
    work = _files(tmp_path)
    folder = hub.create_folder(type_="model", name="image-classification")
    model = folder.create_asset(name="mnist-cnn-keras")
    branch = model.create_branch(name="v1")
    commit = branch.create_commit(message="weights", add=[str(work / "model")])
    assert commit["fileCount"] == 2
    hub.create_folder(type_="dataset", name="image-classification").create_asset(name="mnist")
    dataset = hub.get_folder(type_="dataset", name="image-classification").get_asset(name="mnist")
    ev = branch.create_evaluation(metrics={"loss": 1.47, "accuracy": 0.99}, dataset=dataset)
    assert ev["modelCommit"] == commit["id"] == branch.commit
    listed = branch.list_evaluation()
    assert len(listed) == 1
    keys = {
        "id",
        "modelRef",
        "modelCommit",
        "modelBranch",
        "modelTags",
        "datasetRef",
        "datasetCommit",
        "datasetBranch",
        "datasetTags",
        "results",
        "startTime",
        "modelID",
        "datasetID",
    }
    assert keys <= set(listed[0])
    assert listed[0]["results"] == {"metric": {"loss": 1.47, "accuracy": 0.99}}
    assert isinstance(listed[0]["results"]["metric"]["loss"], float)
    assert listed[0]["source"] == "sdk"
    # A later commit moves the branch; the evaluation stays bound to the commit it measured.
    (work / "extra.txt").write_text("x")
    branch.create_commit(message="more", add=[str(work / "extra.txt")])
    assert branch.list_evaluation() == []
    assert [e["id"] for e in branch.list_evaluation(all_commits=True)] == [ev["id"]]
    model.create_tag(name="t1", ref=commit["id"][:8])
    assert hub.get_evaluation(ev["id"])["modelTags"] == ["t1"]
    hub.delete_evaluation(evaluation_id=ev["id"])
    assert hub.list_evaluation() == []


def test_sdk_tutorial_embedded(home: Path, tmp_path: Path) -> None:
    _tutorial_sdk(tmp_path)


def test_sdk_tutorial_against_server(
    home: Path, tmp_path: Path, server: Server, capsys: pytest.CaptureFixture[str]
) -> None:
    me = hub.login(host=server.url, api_key=server.admin_key)
    assert me["name"] == "admin"
    _tutorial_sdk(tmp_path)
    with server.client(server.admin_key) as c:
        assert c.get("/folders", params={"type": "model"}).json()[0]["assets"] == 1
    assert not (home / "assay.db").exists()
