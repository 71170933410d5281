"""The instance keeps its metadata and files where its settings say: the embedded SQLite and
local files by default, PostgreSQL and an S3 bucket when ASSAY_DATABASE_URL and
ASSAY_STORAGE_URL name them (the Makefile runs this module both ways)."""

from __future__ import annotations

import os
from pathlib import Path

import fsspec
import pytest

from assay import hub
from tests.conftest import DATABASE, STORAGE
from tests.support.database import all_rows


def test_metadata_and_files_live_where_the_settings_say(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    payload = os.urandom(3 * 1024 * 1024)
    (tmp_path / "weights.bin").write_bytes(payload)
    asset = hub.create_folder(type_="model", name="where").create_asset(name="m")
    monkeypatch.chdir(tmp_path)
    asset.create_commit(message="w", add=["weights.bin"])
    out = tmp_path / "back"
    hub.get_asset("where/m").download(out)
    assert (out / "weights.bin").read_bytes() == payload

    files = [p for p in home.rglob("*") if p.is_file() and p.stat().st_size >= len(payload)]
    if STORAGE == "s3":
        url = os.environ["ASSAY_STORAGE_URL"]
        fs, root = fsspec.core.url_to_fs(url)
        stored = [p for p in fs.find(root) if fs.size(p) == len(payload)]
        assert len(stored) == 1 and stored[0].startswith(root + "/blobs/")
        assert files == []  # nothing of it kept on the server's disk
    else:
        assert [p.parent.parent.parent.name for p in files] == ["blobs"]
    if DATABASE == "postgresql":
        assert not (home / "assay.db").exists()
        assert os.environ["ASSAY_DATABASE_URL"].startswith("postgresql+psycopg://")
    else:
        assert (home / "assay.db").is_file()
    assert [r for r in all_rows(home)["assets"] if "'m'" in r]
