"""Report results from a custom evaluation script::

    from assay import report
    report.metrics({"accuracy": 0.97, "per_class": {"cat": 0.95, "dog": 0.99}})
    report.samples([{"id": "img1.png", "label": "cat", "prediction": "dog", "correct": False}])
    report.artifact("confusion.png")

Everything lands in ``$ASSAY_OUTPUT_DIR`` (set by Assay when it runs the script), as
``metrics.json``, ``samples.jsonl`` and ``artifacts/``; a script that does not import Assay
may write ``metrics.json`` there itself. This module imports nothing heavy and never talks to
a server: the worker collects the files when the script ends.
"""

from __future__ import annotations

import json
import os
import shutil
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["artifact", "metrics", "output_dir", "samples"]


def output_dir() -> Path:
    value = os.environ.get("ASSAY_OUTPUT_DIR")
    if not value:
        raise RuntimeError("ASSAY_OUTPUT_DIR is not set: report.* works inside an Assay job")
    path = Path(value)
    path.mkdir(parents=True, exist_ok=True)
    return path


def metrics(values: Mapping[str, Any]) -> None:
    """Merge ``values`` into the version's metrics (numbers, or nested objects of numbers)."""
    path = output_dir() / "metrics.json"
    current: dict[str, Any] = json.loads(path.read_text()) if path.exists() else {}
    current.update(values)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(current, allow_nan=False))
    os.replace(tmp, path)  # a reader never sees half a file


def samples(rows: Iterable[Mapping[str, Any]]) -> None:
    """Append per-sample rows (JSON objects, e.g. id, prediction, label, correct)."""
    with open(output_dir() / "samples.jsonl", "a") as f:
        for row in rows:
            f.write(json.dumps(dict(row), allow_nan=False) + "\n")


def artifact(path: str | os.PathLike[str], name: str | None = None) -> None:
    """Keep a file (a plot, a table) with the version's results."""
    target = output_dir() / "artifacts"
    target.mkdir(exist_ok=True)
    shutil.copyfile(path, target / (name or Path(path).name))
