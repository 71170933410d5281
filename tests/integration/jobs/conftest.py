"""Assets for job tests: a model, a dataset and a code asset holding one flexible script."""

from __future__ import annotations

from pathlib import Path

import pytest

from assay import hub

SCRIPT = """
import argparse, json, os, sys, time
p = argparse.ArgumentParser()
p.add_argument("--model_url"); p.add_argument("--data_url")
p.add_argument("--sleep", type=float, default=0)
p.add_argument("--lines", type=int, default=0)
p.add_argument("--exit", type=int, default=0)
p.add_argument("--mode", default="sdk")
p.add_argument("--early", default="no")
a, _ = p.parse_known_args()
print("start attempt", os.environ.get("ASSAY_ATTEMPT"), flush=True)
if a.mode == "snoop":
    print("spec file visible:", os.path.exists("../spec.json"), flush=True)
    print("env:", ",".join(sorted(os.environ)), flush=True)
if a.mode == "dir-early":
    os.mkdir(os.path.join(os.environ["ASSAY_OUTPUT_DIR"], "metrics.json"))
from assay import report
if a.early == "yes":
    report.metrics({"seen": 1})
for i in range(a.lines):
    print(f"line {i}", flush=True)
    time.sleep(a.sleep / a.lines)
if not a.lines:
    time.sleep(a.sleep)
data = sorted(os.listdir(a.data_url))
out = os.environ["ASSAY_OUTPUT_DIR"]
if a.mode == "sdk":
    report.metrics({"accuracy": 0.75, "files": len(data)})
    report.samples([{"id": d, "correct": True} for d in data])
elif a.mode == "file":
    with open(os.path.join(out, "metrics.json"), "w") as f:
        json.dump({"accuracy": 0.5}, f)
elif a.mode == "invalid":
    with open(os.path.join(out, "metrics.json"), "w") as f:
        f.write("{not json")
elif a.mode == "string":
    report.metrics({"accuracy": "high"})
elif a.mode == "dir":
    os.mkdir(os.path.join(out, "metrics.json"))
print("done", flush=True)
sys.exit(a.exit)
"""


def make_assets(tmp: Path, script: str = SCRIPT) -> None:
    """model f/m, dataset f/d (two files), code s/e (eval.py: ``script``) via the current hub
    client."""
    src = tmp / "src"
    (src / "data").mkdir(parents=True)
    (src / "w.bin").write_bytes(b"weights")
    (src / "data" / "a.txt").write_text("a")
    (src / "data" / "b.txt").write_text("b")
    (src / "eval.py").write_text(script)
    (src / "notes.txt").write_text("not python")
    hub.create_folder(type_="model", name="f").create_asset(name="m").create_commit(
        message="w", add=[str(src / "w.bin")]
    )
    hub.create_folder(type_="dataset", name="f").create_asset(name="d").create_commit(
        message="d", add=[str(src / "data" / "a.txt"), str(src / "data" / "b.txt")]
    )
    hub.create_folder(type_="code", name="s").create_asset(name="e").create_commit(
        message="c", add=[str(src / "eval.py"), str(src / "notes.txt")]
    )


def new_job(name: str, **kwargs: object) -> hub.Job:
    params = kwargs.pop("params", {})
    return hub.create_job(
        name=name, model="f/m", dataset="f/d", code="s/e", launch="eval.py", params=params, **kwargs
    )  # type: ignore[arg-type]


@pytest.fixture
def assets(home: Path, tmp_path: Path) -> Path:
    make_assets(tmp_path)
    return tmp_path
