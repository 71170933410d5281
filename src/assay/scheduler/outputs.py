"""Reading what a finished task left in its output directory, strictly."""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from assay.core.errors import InvalidInput
from assay.storage.blobs import BlobStore
from assay.worker.spec import RESULT_FILE

MAX_ARTIFACTS = 1000
MAX_METRICS_BYTES = 1024 * 1024


@dataclass
class Outputs:
    metrics: dict[str, Any]
    samples_sha256: str | None = None
    sample_count: int = 0
    artifacts: list[dict[str, Any]] = field(default_factory=list)


def _numeric(value: Any, where: str) -> None:
    """Job metrics are numbers, or objects/lists of numbers (e.g. per-class values)."""
    if isinstance(value, bool) or not isinstance(value, int | float | dict | list):
        raise InvalidInput(
            f"metric {where!r} is {json.dumps(value)[:60]}: metrics must be "
            "numbers (or objects of numbers, e.g. per class)"
        )
    if isinstance(value, float) and not math.isfinite(value):
        raise InvalidInput(f"metric {where!r} is {value}: metrics must be finite")
    if isinstance(value, dict):
        for k, v in value.items():
            _numeric(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _numeric(v, f"{where}[{i}]")


def read_metrics(output: Path) -> dict[str, Any]:
    path = output / "metrics.json"
    if not path.exists():
        raise InvalidInput(
            "the script reported no metrics: call assay.report.metrics({...}) or "
            "write metrics.json into $ASSAY_OUTPUT_DIR"
        )
    try:
        if not path.is_file() or path.is_symlink():
            raise InvalidInput("metrics.json must be a regular file")
        if path.stat().st_size > MAX_METRICS_BYTES:
            raise InvalidInput(f"metrics.json is larger than {MAX_METRICS_BYTES} bytes")
        data = json.loads(path.read_text())
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(f"metrics.json is not valid JSON: {exc}") from None
    except OSError as exc:
        raise InvalidInput(f"metrics.json cannot be read: {exc.strerror}") from None
    if not isinstance(data, dict) or not data:
        raise InvalidInput("metrics.json must hold a non-empty JSON object of name -> number")
    for key, value in data.items():
        _numeric(value, key)
    return data


def collect(output: Path, store: BlobStore) -> Outputs:
    """Everything a finished task reported; any unreadable output is an InvalidInput."""
    try:
        return _collect(output, store)
    except (OSError, UnicodeDecodeError, RecursionError) as exc:
        raise InvalidInput(f"the task's outputs cannot be read: {exc}") from None


def _collect(output: Path, store: BlobStore) -> Outputs:
    out = Outputs(metrics=read_metrics(output))
    parquet = output / "samples.parquet"
    if parquet.exists():
        import pyarrow.parquet as pq

        try:
            out.sample_count = pq.read_metadata(parquet).num_rows
        except Exception:  # pyarrow raises several untyped errors for a bad file
            raise InvalidInput("samples.parquet is not a readable Parquet file") from None
        out.samples_sha256, _ = store.put_file(parquet)
    samples = output / "samples.jsonl"
    if samples.exists() and out.samples_sha256 is None:
        with open(samples) as f:
            for n, line in enumerate(f, 1):
                try:
                    row = json.loads(line)
                except ValueError:
                    raise InvalidInput(f"samples.jsonl line {n} is not JSON") from None
                if not isinstance(row, dict):
                    raise InvalidInput(f"samples.jsonl line {n} is not a JSON object")
                out.sample_count += 1
        out.samples_sha256, _ = store.put_file(samples)
    artifacts = output / "artifacts"
    if artifacts.is_dir():
        files = sorted(p for p in artifacts.rglob("*") if p.is_file() and not p.is_symlink())
        if len(files) > MAX_ARTIFACTS:
            raise InvalidInput(f"more than {MAX_ARTIFACTS} artifacts")
        for p in files:
            sha, size = store.put_file(p)
            out.artifacts.append(
                {"name": p.relative_to(artifacts).as_posix(), "sha256": sha, "size": size}
            )
    return out


def worker_result(output: Path) -> dict[str, Any]:
    try:
        data = json.loads((output / RESULT_FILE).read_text())
        return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        return {}


def log_tail(path: Path, lines: int = 20, limit: int = 3000) -> str:
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - 64 * 1024))
            text = f.read().decode("utf-8", "replace")
    except OSError:
        return ""
    tail = "\n".join(text.splitlines()[-lines:])
    return tail[-limit:]
