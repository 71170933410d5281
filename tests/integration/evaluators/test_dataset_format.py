"""A dataset created with a task format is validated at every commit, before it is recorded."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from assay import errors, hub
from tests.conftest import Result


def test_commits_are_validated_in_the_datasets_format(
    home: Path, tmp_path: Path, cli: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = cli
    work = tmp_path / "work"
    (work / "img").mkdir(parents=True)
    for i in range(3):
        Image.new("RGB", (4, 4), (i * 80, 0, 0)).save(work / "img" / f"{i}.png")
    (work / "labels.txt").write_text("a\nb\n")
    (work / "annotations.csv").write_text("path,label\nimg/0.png,a\nimg/1.png,b\nimg/2.png,c\n")
    ok: Result = run("create", "folder", "dataset/d")  # type: ignore[operator]
    assert ok.code == 0
    res: Result = run("create", "dataset", "d/cls", "--format", "image-classification")  # type: ignore[operator]
    assert res.code == 0, res.err
    head = hub.get_asset("d/cls").resolve()["commit"]["id"]

    res = run("commit", "d/cls", "-m", "bad", "-a", ".", cwd=work)  # type: ignore[operator]
    assert res.code == 2
    assert "annotations.csv line 4: label 'c' is not in labels.txt" in res.err
    assert hub.get_asset("d/cls").resolve()["commit"]["id"] == head  # nothing recorded

    (work / "annotations.csv").write_text("path,label\nimg/0.png,a\nimg/1.png,b\nimg/9.png,a\n")
    res = run("commit", "d/cls", "-m", "bad", "-a", ".", cwd=work)  # type: ignore[operator]
    assert res.code == 2 and "img/9.png" in res.err

    (work / "annotations.csv").write_text("path,label\nimg/0.png,a\nimg/1.png,b\nimg/2.png,a\n")
    res = run("commit", "d/cls", "-m", "good", "-a", ".", cwd=work)  # type: ignore[operator]
    assert res.code == 0, res.err
    assert hub.get_asset("d/cls").resolve()["commit"]["id"] != head

    hub.create_folder(type_="model", name="m").create_asset(name="m")
    with pytest.raises(errors.InvalidInput, match="holds a image-classification dataset"):
        hub.create_job(name="j", type="object-detection", model="m/m", dataset="d/cls")
    with pytest.raises(errors.InvalidInput, match="unknown dataset format"):
        hub.get_folder(type_="dataset", name="d").create_asset(name="x", format="audio")
    with pytest.raises(errors.InvalidInput, match="only a dataset"):
        hub.get_folder(type_="model", name="m").create_asset(name="y", format="object-detection")
