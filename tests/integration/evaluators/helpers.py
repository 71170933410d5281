"""Shared set-up of the evaluator tests: committing a directory as an asset, writing a model
commit with its assay.yaml, running one version of a built-in job."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from assay import errors, hub
from tests.conftest import ROOT


def commit_dir(
    type_: str, folder: str, name: str, directory: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A new asset holding ``directory``'s files at its root."""
    try:
        f = hub.create_folder(type_=type_, name=folder)
    except errors.Conflict:
        f = hub.get_folder(type_=type_, name=folder)
    asset = f.create_asset(name=name)
    monkeypatch.chdir(directory)  # "." keeps the directory's files at the asset's root
    asset.create_commit(message=name, add=["."])
    monkeypatch.chdir(ROOT)


def write_model(directory: Path, manifest: str, files: dict[str, str] | None = None) -> Path:
    """A model directory: ``assay.yaml`` plus the given text files."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "assay.yaml").write_text(manifest)
    for name, text in (files or {}).items():
        (directory / name).parent.mkdir(parents=True, exist_ok=True)
        (directory / name).write_text(text)
    return directory


def run_job(task: str, model: str, dataset: str, name: str, **params: object) -> hub.Version:
    """Create a job of a built-in type and wait for its first version to end."""
    job = hub.create_job(name=name, type=task, model=model, dataset=dataset, params=params)
    return job.get_version("V0001").wait(timeout=300)


def digits_prepare() -> ModuleType:
    """examples/digits/prepare.py, the demo's model and dataset maker."""
    spec = importlib.util.spec_from_file_location("prepare", ROOT / "examples/digits/prepare.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
