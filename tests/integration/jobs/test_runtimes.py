"""Runtimes: a versioned environment built once per runtime version (uv, cached) that a
job's tasks run in; a package the base environment lacks is importable there, Assay's own
report module still is, each version records the exact runtime version, and a requirements
file that cannot install fails the version with the installer's message.

The extra package is a wheel the test writes itself, installed with --no-index: no network."""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import zipfile
from pathlib import Path
from typing import Any

import pytest

from assay import errors, hub

SCRIPT = """
import assaytiny
from assay import report
report.metrics({"tiny": assaytiny.VALUE})
print("assaytiny from", assaytiny.__file__, flush=True)
"""


def _wheel(directory: Path, value: float) -> Path:
    """A minimal pure-Python wheel of package ``assaytiny`` 1.0 (PEP 427 layout)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / "assaytiny-1.0-py3-none-any.whl"
    files = {
        "assaytiny/__init__.py": f"VALUE = {value}\n",
        "assaytiny-1.0.dist-info/METADATA": (
            "Metadata-Version: 2.1\nName: assaytiny\nVersion: 1.0\n"
        ),
        "assaytiny-1.0.dist-info/WHEEL": (
            "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
        ),
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=")
        record.append(f"{name},sha256={digest.decode()},{len(text.encode())}")
    record.append("assaytiny-1.0.dist-info/RECORD,,")
    files["assaytiny-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(path, "w") as z:
        for name, text in files.items():
            z.writestr(name, text)
    return directory


@pytest.fixture
def code(home: Path, tmp_path: Path) -> None:
    src = tmp_path / "src"
    (src / "data").mkdir(parents=True)
    (src / "data" / "a.txt").write_text("a")
    (src / "run.py").write_text(SCRIPT)
    (src / "w.bin").write_bytes(b"w")
    hub.create_folder(type_="model", name="f").create_asset(name="m").create_commit(
        message="m", add=[str(src / "w.bin")]
    )
    hub.create_folder(type_="dataset", name="f").create_asset(name="d").create_commit(
        message="d", add=[str(src / "data" / "a.txt")]
    )
    hub.create_folder(type_="code", name="s").create_asset(name="e").create_commit(
        message="c", add=[str(src / "run.py")]
    )


def _job(name: str, **kwargs: Any) -> hub.Job:
    return hub.create_job(
        name=name, model="f/m", dataset="f/d", code="s/e", launch="run.py", **kwargs
    )


def test_a_job_runs_in_its_runtime_version(code: None, tmp_path: Path, cli: Any) -> None:
    assert importlib.util.find_spec("assaytiny") is None  # not in Assay's own environment
    wheels = _wheel(tmp_path / "wheels", 0.25)
    req = tmp_path / "requirements.txt"
    req.write_text(f"--no-index\n--find-links {wheels}\nassaytiny==1.0\n")
    made = cli("create", "runtime", "tiny", "--requirements", str(req))
    assert made.code == 0 and "Created runtime tiny:1" in made.err, made
    again = cli("create", "runtime", "tiny", "--requirements", str(req))
    assert again.code == 0 and "Unchanged" in again.err and "tiny:1" in again.err

    job = _job("rt", runtime="tiny")
    first = job.get_version("V0001").wait(timeout=300)
    assert first.status == "Completed", first.data["message"]
    assert first.metrics == {"tiny": 0.25}
    assert first.data["runtime"] == "tiny:1"
    assert "building runtime tiny:1" in first.logs()
    assert "in runtime tiny:1" in first.logs()

    # A second version copies the exact runtime version and reuses its environment.
    second = job.create_version().wait(timeout=300)
    assert second.status == "Completed" and second.data["runtime"] == "tiny:1"
    assert "building runtime" not in second.logs() and "in runtime tiny:1" in second.logs()

    # A new runtime version (a rebuilt wheel) is used only where it is named.
    newer = _wheel(tmp_path / "wheels2", 0.5)
    req.write_text(f"--no-index\n--find-links {newer}\nassaytiny==1.0\n")
    assert hub.create_runtime("tiny", req)["ref"] == "tiny:2"
    third = job.create_version().wait(timeout=300)
    assert third.data["runtime"] == "tiny:1" and third.metrics == {"tiny": 0.25}
    fourth = job.create_version(runtime="tiny").wait(timeout=300)
    assert fourth.data["runtime"] == "tiny:2" and fourth.metrics == {"tiny": 0.5}
    pinned = job.create_version(runtime="tiny:1").wait(timeout=300)
    assert pinned.data["runtime"] == "tiny:1"

    listed = cli("ls", "runtime")
    assert listed.code == 0 and "tiny:1" in listed.out and "tiny:2" in listed.out
    shown = cli("get", "version", "rt:V0004")
    assert "tiny:2" in shown.out
    with pytest.raises(errors.Conflict, match="rt:V0001"):
        hub.delete_runtime("tiny")


def test_a_runtime_that_does_not_install_fails_the_version_clearly(
    code: None, tmp_path: Path
) -> None:
    hub.create_runtime("broken", "--no-index\nno-such-package-anywhere==9.9\n")
    v = _job("bad", runtime="broken").get_version("V0001").wait(timeout=300)
    assert v.status == "Failed"
    message = v.data["message"]
    assert message.startswith("runtime broken:1: installing the requirements failed")
    assert "no-such-package-anywhere" in message
    # Nothing half-built is kept: the next attempt builds again and fails the same way.
    again = hub.get_job("bad").create_version().wait(timeout=300)
    assert again.status == "Failed" and "no-such-package-anywhere" in again.data["message"]


def test_bad_runtimes_are_refused(code: None, tmp_path: Path) -> None:
    for requirements, python, says in (
        ("", None, "names no package"),
        ("# only a comment\n", None, "names no package"),
        ("numpy\n", "three", "--python"),
        ("x" * (64 * 1024 + 1), None, "at most 65536 characters"),
    ):
        with pytest.raises(errors.InvalidInput, match=says):
            hub.create_runtime("r", requirements, python=python)
    with pytest.raises(errors.InvalidInput):
        hub.create_runtime("bad name!", "numpy\n")
    assert hub.list_runtimes() == []
    with pytest.raises(errors.NotFound, match="runtime 'nope' not found"):
        _job("j", runtime="nope")
    hub.create_runtime("r", "numpy\n")
    with pytest.raises(errors.NotFound, match="no version 7"):
        _job("j", runtime="r:7")
    assert hub.list_jobs() == []
    hub.delete_runtime("r")
    assert hub.list_runtimes() == []
