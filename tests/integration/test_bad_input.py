"""Every bad input of issue 2 point 6 answers clearly and changes nothing.

The CLI exits non-zero with one ``Error: ...`` line on stderr (no traceback, nothing on stdout),
the SDK raises a typed ``assay.errors`` exception, and the REST API answers a 4xx with a JSON
body ``{"error": {"type", "message"}}``. After each refusal the state a user can see (every
listing, and every row of the database but the content-addressed blob cache) is unchanged.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from assay import errors, hub
from tests.conftest import Result
from tests.support.database import all_rows, execute

Cli = Callable[..., Result]

MODEL = "model/f/m"
LISTINGS = (
    ("ls", "folder"),
    ("ls", "model", "f"),
    ("ls", "dataset", "d"),
    ("ls", "branch", MODEL),
    ("ls", "tag", MODEL),
    ("ls", "commit", f"{MODEL}:v1"),
    ("ls", "file", f"{MODEL}:v1"),
    ("ls", "evaluation"),
)
# Uploaded contents are a cache keyed by hash that no listing shows: a refused commit may
# leave one behind (the client uploads before it commits), so they are not compared.
CACHE_TABLES = ("blobs", "blob_grants", "alembic_version")


# ---- helpers -------------------------------------------------------------------------------


def db_rows(home: Path) -> dict[str, list[str]]:
    return all_rows(home, skip=CACHE_TABLES)


def snapshot(cli: Cli, home: Path) -> dict[str, Any]:
    """What a user can see of the instance, plus the database rows behind it."""
    seen: dict[str, Any] = {}
    for args in LISTINGS:
        res = cli(*args, "-o", "json")
        assert res.code == 0, f"assay {' '.join(args)}: {res.err}"
        seen[" ".join(args)] = res.json()
    seen["db"] = db_rows(home)
    return seen


def fails(
    cli: Cli, *args: str, code: int, says: str | tuple[str, ...], cwd: Path | None = None
) -> Result:
    """Run the CLI, expecting the refusal of family ``code`` with ``says`` in its message."""
    res = cli(*args, cwd=cwd)
    shown = f"assay {' '.join(args)} -> {res.code}\nstdout: {res.out}\nstderr: {res.err}"
    assert res.code == code, shown
    assert res.err.startswith("Error: "), shown
    assert "Traceback" not in res.err, shown
    assert res.out == "", shown
    for part in (says,) if isinstance(says, str) else says:
        assert part in res.err, shown
    return res


def ok(cli: Cli, *args: str, cwd: Path | None = None) -> Result:
    res = cli(*args, cwd=cwd)
    assert res.code == 0, f"assay {' '.join(args)} failed: {res.err}"
    return res


def head(cli: Cli, ref: str) -> str:
    return str(ok(cli, "ls", "commit", ref, "-o", "json").json()[0]["id"])  # type: ignore[index]


@pytest.fixture
def work(tmp_path: Path) -> Path:
    w = tmp_path / "work"
    w.mkdir()
    (w / "weights.bin").write_bytes(b"\x00\x01" * 1000)
    (w / "new.txt").write_text("new")
    return w


@pytest.fixture
def seeded(cli: Cli, home: Path, work: Path) -> Iterator[str]:
    """Folder model/f with model m (branches main and v1, tag t1 on v1), folder dataset/d
    with dataset ds, and one evaluation of m:v1; yields the evaluation's id."""
    ok(cli, "create", "folder", "model/f")
    ok(cli, "create", "model", "f/m")
    ok(cli, "create", "branch", "f/m:v1")
    ok(cli, "commit", "f/m:v1", "-m", "weights", "-a", "weights.bin", cwd=work)
    ok(cli, "create", "tag", "f/m:t1", "--ref", "v1")
    ok(cli, "create", "folder", "dataset/d")
    ok(cli, "create", "dataset", "d/ds")
    ev = ok(cli, "create", "evaluation", "f/m:v1", "-d", "d/ds", "-m", "loss=1.5")
    yield ev.out.strip()


# ---- CLI on the embedded instance ----------------------------------------------------------


def test_unknown_refs_are_refused_naming_what_exists(
    cli: Cli, home: Path, seeded: str, tmp_path: Path
) -> None:
    before = snapshot(cli, home)
    exists = ("branches: main, v1", "tags: t1")
    fails(cli, "ls", "commit", "f/nope", code=3, says="f/nope does not exist")
    fails(cli, "ls", "commit", "nope/m", code=3, says="nope/m does not exist")
    fails(cli, "ls", "commit", "f/m:nope", code=3, says=("no branch or commit 'nope'", *exists))
    fails(cli, "ls", "file", "f/m:branch/nope", code=3, says=("no branch 'nope'", *exists))
    fails(cli, "ls", "file", "f/m:tag/nope", code=3, says=("no tag 'nope'", *exists))
    fails(cli, "ls", "commit", "f/m:deadbeef", code=3, says=("'deadbeef'", *exists))
    fails(cli, "ls", "commit", "someone/model/f/m", code=3, says="no user 'someone'")
    # Malformed refs say what a ref looks like.
    fails(cli, "ls", "commit", "a/b/c/d/e", code=2, says="expected [[OWNER/]TYPE/]FOLDER/ASSET")
    fails(cli, "ls", "commit", "f/m:", code=2, says="ends with ':'")
    fails(cli, "ls", "commit", "widget/f/m", code=2, says="type prefix is one of model")
    fails(cli, "ls", "commit", "f/m:v1/x", code=2, says="invalid revision 'v1/x'")
    # Commands that would create something create nothing.
    fails(cli, "create", "branch", "f/m:v2", "--from", "nope", code=3, says=exists)
    fails(cli, "create", "tag", "f/m:t2", "--ref", "cafe1234", code=3, says=exists)
    fails(cli, "create", "evaluation", "f/m:nope", "-d", "d/ds", "-m", "a=1", code=3, says=exists)
    fails(cli, "create", "evaluation", "f/m", "-d", "d/nope", "-m", "a=1", code=3, says="d/nope")
    fails(cli, "commit", "f/m:nope", "-m", "x", "-d", "weights.bin", code=3, says="'nope'")
    out = tmp_path / "dl"
    fails(cli, "download", "f/m:nope", "-o", str(out), code=3, says=exists)
    assert not out.exists()
    assert snapshot(cli, home) == before


def test_ambiguous_commit_prefix_is_refused(cli: Cli, home: Path, seeded: str) -> None:
    # Two commits whose ids share 4 hex digits would take ~300 real commits to meet; copy the
    # head of v1 under two such ids instead (commits are plain rows; the ids are opaque).
    tip = head(cli, f"{MODEL}:v1")
    cols = "asset_id, parent_id, message, author, created_at, manifest_sha256, file_count, "
    cols += "total_size"
    for twin in ("abcd" + "0" * 60, "abcd" + "1" * 60):
        execute(
            home,
            f"INSERT INTO commits (id, {cols}) SELECT :twin, {cols} FROM commits WHERE id = :tip",
            twin=twin,
            tip=tip,
        )
    before = snapshot(cli, home)
    matches = ("abcd00000000", "abcd11111111")  # the message names the candidates
    fails(cli, "ls", "commit", "f/m:abcd", code=2, says=("'abcd'", "ambiguous", *matches))
    fails(cli, "create", "tag", "f/m:t2", "--ref", "abcd", code=2, says="ambiguous")
    fails(
        cli, "create", "evaluation", "f/m:abcd", "-d", "d/ds", "-m", "a=1", code=2, says="ambiguous"
    )
    assert snapshot(cli, home) == before
    # One more digit makes it unique.
    assert head(cli, "f/m:abcd1") == "abcd" + "1" * 60
    with pytest.raises(errors.InvalidInput, match="ambiguous"):
        hub.get_asset(MODEL).list_commits("abcd")


def test_model_and_dataset_of_one_name_need_the_type_prefix(
    cli: Cli, home: Path, seeded: str, work: Path
) -> None:
    ok(cli, "create", "folder", "dataset/f")
    ok(cli, "create", "dataset", "f/m")
    before = snapshot(cli, home)
    says = ("f/m names a dataset and a model", "prefix the ref with its type", "dataset/f/m")
    fails(cli, "create", "branch", "f/m:v2", code=2, says=says)
    fails(cli, "create", "tag", "f/m:t2", code=2, says=says)
    fails(cli, "commit", "f/m:v1", "-m", "x", "-a", "new.txt", cwd=work, code=2, says=says)
    fails(cli, "ls", "commit", "f/m", code=2, says=says)
    fails(cli, "ls", "file", "f/m:v1", code=2, says=says)
    fails(cli, "delete", "branch", "f/m:v1", code=2, says=says)
    fails(cli, "download", "f/m", "-o", str(work / "dl"), code=2, says=says)
    with pytest.raises(errors.InvalidInput, match="prefix the ref with its type"):
        hub.get_asset("f/m")
    assert snapshot(cli, home) == before
    # With the prefix, or where the command says the type, the same names work.
    ok(cli, "create", "branch", "model/f/m:v2")
    assert [b["name"] for b in ok(cli, "ls", "branch", "dataset/f/m", "-o", "json").json()] == [
        "main"
    ]
    ok(cli, "create", "evaluation", "f/m:v2", "-d", "f/m", "-m", "a=1")
    ok(cli, "delete", "model", "f/m")  # `delete model` says the type itself
    assert ok(cli, "ls", "model", "f", "-o", "json").json() == []
    assert len(ok(cli, "ls", "dataset", "f", "-o", "json").json()) == 1  # type: ignore[arg-type]


def test_duplicate_names_conflict(cli: Cli, home: Path, seeded: str) -> None:
    tag_before = ok(cli, "ls", "tag", MODEL, "-o", "json").json()
    before = snapshot(cli, home)
    fails(cli, "create", "folder", "model/f", code=4, says="Model Folder 'f' already exists")
    fails(cli, "create", "model", "f/m", code=4, says="Model 'm' already exists in Folder 'f'")
    fails(cli, "create", "branch", "f/m:v1", code=4, says="already has a branch 'v1'")
    fails(cli, "create", "branch", "f/m:main", code=4, says="already has a branch 'main'")
    # A duplicate tag pointing elsewhere does not move the existing one.
    fails(cli, "create", "tag", "f/m:t1", "--ref", "main", code=4, says="already has a tag 't1'")
    with pytest.raises(errors.Conflict, match="already exists"):
        hub.create_folder(type_="model", name="f")
    with pytest.raises(errors.Conflict, match="already has a branch"):
        hub.get_asset(MODEL).create_branch(name="v1")
    assert snapshot(cli, home) == before
    assert ok(cli, "ls", "tag", MODEL, "-o", "json").json() == tag_before
    # The same names in another type or asset are not duplicates.
    ok(cli, "create", "folder", "code/f")
    ok(cli, "create", "code", "f/m")


# Each breaks the name rule (1-64 of letters, digits, '.', '_', '-', from a letter or digit).
BAD_NAMES = ["bad name", "-x", ".hidden", "..", "x" * 65, "é", "a+b"]
# Each would change the meaning of a ref or a path if it were allowed as a name.
BAD_SYNTAX = ["../x", "a/b", "a:b"]


def test_invalid_names_are_refused(cli: Cli, home: Path, seeded: str) -> None:
    before = snapshot(cli, home)
    for bad in BAD_NAMES + BAD_SYNTAX:
        for args in (
            ("create", "folder", f"model/{bad}"),
            ("create", "model", f"f/{bad}"),
            ("create", "branch", f"f/m:{bad}"),
            ("create", "tag", f"f/m:{bad}"),
        ):
            res = cli(*args)
            assert res.code == 2 and res.out == "", (args, res)
            assert res.err.startswith("Error: ") and "Traceback" not in res.err, (args, res)
            if bad in BAD_NAMES:  # the message names the culprit and states the rule
                assert "invalid" in res.err and repr(bad) in res.err, (args, res)
                assert "1-64 characters" in res.err, (args, res)
        with pytest.raises(errors.InvalidInput):
            hub.create_folder(type_="model", name=bad)
        with pytest.raises(errors.InvalidInput):
            hub.get_folder(type_="model", name="f").create_asset(name=bad)
        with pytest.raises(errors.InvalidInput):
            hub.get_asset(MODEL).create_branch(name=bad)
        with pytest.raises(errors.InvalidInput):
            hub.get_asset(MODEL).create_tag(name=bad)
    fails(
        cli, "create", "folder", "widget/x", code=2, says="the type is one of model, dataset, code"
    )
    fails(cli, "create", "folder", "x", code=2, says="give the folder's type")
    assert snapshot(cli, home) == before
    # The limit is 64, not less.
    ok(cli, "create", "folder", "model/" + "y" * 64)
    ok(cli, "create", "model", "f/" + "y" * 64)


def test_malformed_metrics_are_refused(cli: Cli, home: Path, seeded: str, tmp_path: Path) -> None:
    not_json = tmp_path / "not.json"
    not_json.write_text("loss: 1.5")
    not_object = tmp_path / "list.json"
    not_object.write_text("[1.5, 2]")
    nan_inside = tmp_path / "nan.json"
    nan_inside.write_text('{"per_class": {"cat": NaN}}')
    before = snapshot(cli, home)

    def refused(*extra: str, says: str | tuple[str, ...]) -> None:
        fails(cli, "create", "evaluation", "f/m:v1", "-d", "d/ds", *extra, code=2, says=says)

    refused("-m", "loss", says=("metric 'loss' is not KEY=VALUE", "-m accuracy=0.99"))
    refused("-m", "=1.5", says="is not KEY=VALUE")
    refused("-m", "loss=1", "-m", "accuracy", says="'accuracy' is not KEY=VALUE")
    refused(says="no metrics")
    refused("--metrics-file", str(not_json), says=(str(not_json), "is not valid JSON"))
    refused("--metrics-file", str(not_object), says="must hold a JSON object")
    refused("--metrics-file", str(tmp_path / "missing.json"), says="cannot read metrics file")
    refused("-m", "loss=NaN", says=("loss", "only finite numbers"))
    refused("-m", "loss=Infinity", says=("loss", "only finite numbers"))
    refused("-m", "loss=-Infinity", says=("loss", "only finite numbers"))
    refused("--metrics-file", str(nan_inside), says=("per_class.cat", "only finite numbers"))

    model = hub.get_asset(MODEL).get_branch("v1")
    dataset = hub.get_asset("dataset/d/ds")
    for metrics in ({"loss": float("nan")}, {"a": [1.0, float("inf")]}, {}, {" ": 1}):
        with pytest.raises(errors.InvalidInput):
            model.create_evaluation(metrics=metrics, dataset=dataset)
    with pytest.raises(errors.InvalidInput):
        hub.create_evaluation(model=model, dataset=dataset, metrics=[1, 2])  # type: ignore[arg-type]
    assert snapshot(cli, home) == before


def test_commit_paths_that_would_leave_the_asset_are_refused(
    cli: Cli, home: Path, seeded: str, work: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (work / "tree").mkdir()
    (work / "tree" / "bad\nname.txt").write_text("x")
    (work.parent / "outside.txt").write_text("x")
    before = snapshot(cli, home)

    def refused(*changes: str, says: str) -> None:
        fails(cli, "commit", "f/m:v1", "-m", "x", *changes, cwd=work, code=2, says=says)

    refused("-d", "../x", says="paths may not leave the asset")
    refused("-d", "a/../../x", says="paths may not leave the asset")
    refused("-d", "./weights.bin", says="paths may not leave the asset")
    refused("-d", "/etc/passwd", says="is absolute")
    refused("-d", "C:/x", says="is absolute")
    refused("-d", "a\\b", says="contains a backslash")
    refused("-d", "a\x01b", says="control character")
    refused("-a", "new.txt", "-d", "../x", says="paths may not leave the asset")
    refused("-a", "../outside.txt", says="lies outside the current directory")
    refused("-a", "tree", says="control character")
    refused("-a", "nothere.txt", says="no such file or directory")

    branch = hub.get_asset(MODEL).get_branch("v1")
    for path in ("../x", "/etc/passwd", "a\\b", "a\x00b", ""):
        with pytest.raises(errors.InvalidInput):
            branch.create_commit(message="x", delete=[path])
    monkeypatch.chdir(work)
    with pytest.raises(errors.InvalidInput, match="outside the current directory"):
        branch.create_commit(message="x", add=["../outside.txt"])
    assert snapshot(cli, home) == before
    assert [f["path"] for f in ok(cli, "ls", "file", "f/m:v1", "-o", "json").json()] == [  # type: ignore[union-attr]
        "weights.bin"
    ]


def test_commits_that_change_nothing_are_refused(
    cli: Cli, home: Path, seeded: str, work: Path
) -> None:
    before = snapshot(cli, home)

    def refused(ref: str, *changes: str, code: int = 2, says: str) -> None:
        fails(cli, "commit", ref, "-m", "x", *changes, cwd=work, code=code, says=says)

    refused("f/m:v1", says="nothing to commit")
    refused("f/m:v1", "-a", "weights.bin", says="identical to the branch head")
    refused("f/m:v1", "-d", "new.txt", code=3, says="no such file or directory in the branch")
    refused("f/m:tag/t1", "-a", "new.txt", says="a tag cannot move")
    refused("f/m:t1", "-a", "new.txt", code=3, says="has no branch 't1' (branches: main, v1")
    fails(cli, "commit", "f/m:v1", "-m", "  ", "-a", "new.txt", cwd=work, code=2, says="message")
    branch = hub.get_asset(MODEL).get_branch("v1")
    with pytest.raises(errors.InvalidInput, match="nothing to commit"):
        branch.create_commit(message="x")
    with pytest.raises(errors.InvalidInput, match="identical"):
        branch.create_commit(message="x", add=[str(work / "weights.bin")])
    assert snapshot(cli, home) == before


def test_deleting_main_is_refused(cli: Cli, home: Path, seeded: str) -> None:
    before = snapshot(cli, home)
    fails(cli, "delete", "branch", "f/m:main", code=2, says="'main' of Model m cannot be deleted")
    fails(cli, "delete", "branch", "f/m:branch/main", code=2, says="cannot be deleted")
    fails(cli, "delete", "branch", "f/m:nope", code=3, says="has no branch 'nope'")
    fails(cli, "delete", "tag", "f/m:nope", code=3, says="has no tag 'nope'")
    fails(cli, "delete", "branch", "f/m", code=2, says="after a colon")
    with pytest.raises(errors.InvalidInput, match="cannot be deleted"):
        hub.get_asset(MODEL).delete_branch("main")
    assert snapshot(cli, home) == before


def test_deleting_a_folder_that_holds_assets_needs_force(cli: Cli, home: Path, seeded: str) -> None:
    before = snapshot(cli, home)
    fails(cli, "delete", "folder", "model/f", code=4, says=("holds 1 asset(s)", "--force"))
    fails(cli, "delete", "folder", "model/nope", code=3, says="'nope' does not exist")
    fails(cli, "delete", "folder", "f", code=2, says="give the folder's type")
    with pytest.raises(errors.Conflict, match="--force"):
        hub.delete_folder(type_="dataset", name="d")
    assert snapshot(cli, home) == before
    # An empty folder needs no --force; a full one goes with everything in it.
    ok(cli, "create", "folder", "code/empty")
    ok(cli, "delete", "folder", "code/empty")
    ok(cli, "delete", "folder", "model/f", "--force")
    assert [f["name"] for f in ok(cli, "ls", "folder", "-o", "json").json()] == ["d"]  # type: ignore[union-attr]
    fails(cli, "ls", "commit", "f/m", code=3, says="does not exist")
    assert ok(cli, "ls", "evaluation", "-o", "json").json() == []
    # The name is free again, for a new and empty folder.
    ok(cli, "create", "folder", "model/f")
    assert ok(cli, "ls", "model", "f", "-o", "json").json() == []


def test_unknown_evaluation_id_is_not_found(cli: Cli, home: Path, seeded: str) -> None:
    before = snapshot(cli, home)
    unknown = str(uuid.uuid4())
    fails(cli, "get", "evaluation", unknown, code=3, says=f"no evaluation with ID '{unknown}'")
    fails(cli, "get", "evaluation", "not-an-id", code=3, says="no evaluation with ID 'not-an-id'")
    fails(cli, "delete", "evaluation", unknown, code=3, says="no evaluation with ID")
    with pytest.raises(errors.NotFound):
        hub.get_evaluation(unknown)
    with pytest.raises(errors.NotFound):
        hub.delete_evaluation(evaluation_id=unknown)
    assert snapshot(cli, home) == before
    assert ok(cli, "get", "evaluation", seeded, "-o", "json").json()["id"] == seeded  # type: ignore[index]


def test_unknown_output_format_is_refused(cli: Cli, home: Path, seeded: str, work: Path) -> None:
    before = snapshot(cli, home)
    for args in (
        ("ls", "folder"),
        ("ls", "model", "f"),
        ("ls", "branch", "f/m"),
        ("ls", "tag", "f/m"),
        ("ls", "commit", "f/m"),
        ("ls", "file", "f/m:v1"),
        ("ls", "evaluation"),
        ("get", "evaluation", seeded),
        ("whoami",),
        ("create", "folder", "model/new"),
        ("create", "model", "f/new"),
        ("create", "branch", "f/m:new"),
        ("create", "tag", "f/m:new"),
        ("create", "evaluation", "f/m", "-d", "d/ds", "-m", "a=1"),
        ("commit", "f/m:v1", "-m", "x", "-a", "new.txt"),
    ):
        fails(cli, *args, "--output", "xml", cwd=work, code=2, says="unknown --output 'xml'")
    assert snapshot(cli, home) == before


# ---- REST against a real server ------------------------------------------------------------


# ---- SDK: the same refusals raise the matching assay.errors class --------------------------


def test_sdk_errors_are_typed_and_share_one_root(cli: Cli, home: Path, seeded: str) -> None:
    before = snapshot(cli, home)
    cases: list[tuple[type[errors.AssayError], Callable[[], object]]] = [
        (errors.NotFound, lambda: hub.get_asset("f/nope")),
        (errors.NotFound, lambda: hub.get_folder(type_="model", name="nope")),
        (errors.NotFound, lambda: hub.get_asset(MODEL).get_branch("nope")),
        (errors.NotFound, lambda: hub.get_asset(MODEL).list_commits("tag/nope")),
        (errors.Conflict, lambda: hub.get_asset(MODEL).create_tag(name="t1")),
        (errors.Conflict, lambda: hub.get_folder(type_="model", name="f").create_asset("m")),
        (
            errors.InvalidInput,
            lambda: hub.get_asset("f/m:"),
        ),
        (errors.InvalidInput, lambda: hub.create_folder(type_="widget", name="x")),
        (errors.InvalidInput, lambda: hub.get_asset(MODEL).delete_branch("main")),
        (errors.InvalidInput, lambda: hub.list_evaluation("f/m", limit=0)),
    ]
    for family, call in cases:
        with pytest.raises(family) as info:
            call()
        assert isinstance(info.value, errors.AssayError)
        assert info.value.message and "Traceback" not in info.value.message
    assert snapshot(cli, home) == before
