"""Image-classification datasets.

Two layouts, under the dataset commit's root:
- image folders: ``CLASS/xxx.png`` (the class is the folder name);
- a list: ``annotations.csv`` with a header ``path,label`` or ``annotations.jsonl`` with
  ``{"path": ..., "label": ...}`` per line, paths relative to the root.
An optional ``labels.txt`` (one class per line) fixes the class order; otherwise classes are
sorted by name. A label not in ``labels.txt`` or a listed file that does not exist is an
error naming the file and line.
"""

from __future__ import annotations

import csv
import json
import os
from dataclasses import dataclass
from pathlib import Path

from assay.core.errors import InvalidInput
from assay.formats import Files

IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".bmp", ".gif", ".webp"}


@dataclass(frozen=True)
class ClassificationData:
    labels: list[str]
    samples: list[tuple[str, int]]  # (path relative to the root, label index), sorted by path

    def shard(self, index: int, count: int) -> list[tuple[str, int]]:
        """A contiguous slice; the shards of 0..count-1 cover every sample exactly once."""
        n = len(self.samples)
        return self.samples[index * n // count : (index + 1) * n // count]


def _labels_file(files: Files) -> list[str] | None:
    text = files.read_text("labels.txt")
    if text is None:
        return None
    labels = [line.strip() for line in text.splitlines() if line.strip()]
    if len(set(labels)) != len(labels):
        raise InvalidInput("labels.txt lists a class twice")
    if not labels:
        raise InvalidInput("labels.txt is empty")
    return labels


def _listed(files: Files) -> list[tuple[str, str, str]] | None:
    """(path, label, where) from annotations.csv / annotations.jsonl, if present."""
    rows: list[tuple[str, str, str]] = []
    csv_path, jsonl_path = files.get("annotations.csv"), files.get("annotations.jsonl")
    if csv_path is not None:
        with open(csv_path, newline="") as f:
            reader = csv.DictReader(f)
            if not reader.fieldnames or not {"path", "label"} <= set(reader.fieldnames):
                raise InvalidInput("annotations.csv needs a header with columns path,label")
            for n, row in enumerate(reader, 2):
                if not row.get("path") or row.get("label") in (None, ""):
                    raise InvalidInput(f"annotations.csv line {n}: empty path or label")
                rows.append((row["path"], row["label"], f"annotations.csv line {n}"))
        return rows
    if jsonl_path is not None:
        for n, line in enumerate(jsonl_path.read_text().splitlines(), 1):
            if not line.strip():
                continue
            try:
                item = json.loads(line)
            except ValueError:
                raise InvalidInput(f"annotations.jsonl line {n} is not JSON") from None
            if (
                not isinstance(item, dict)
                or not isinstance(item.get("path"), str)
                or "label" not in item
            ):
                raise InvalidInput(f'annotations.jsonl line {n}: needs "path" and "label"')
            rows.append((item["path"], str(item["label"]), f"annotations.jsonl line {n}"))
        return rows
    return None


def load(root: Path) -> ClassificationData:
    files = Files(root)
    fixed = _labels_file(files)
    listed = _listed(files)
    if listed is None:
        listed = [
            (p, p.split("/")[0], p)
            for p in files.paths()
            if p.count("/") == 1 and os.path.splitext(p)[1].lower() in IMAGE_SUFFIXES
        ]
        if not listed:
            raise InvalidInput(
                "the dataset has no CLASS/image files and no annotations.csv or annotations.jsonl"
            )
    labels = fixed or sorted({label for _, label, _ in listed})
    index = {name: i for i, name in enumerate(labels)}
    samples = []
    for path, label, where in listed:
        if label not in index:
            raise InvalidInput(f"{where}: label {label!r} is not in labels.txt")
        if files.get(path) is None:
            raise InvalidInput(f"{where}: image {path!r} is not a file of the dataset")
        samples.append((path, index[label]))
    samples.sort()
    return ClassificationData(labels=labels, samples=samples)
