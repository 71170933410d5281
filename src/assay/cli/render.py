"""Printing for people (Rich tables, seed 001's evaluation blocks) and for scripts (JSON)."""

from __future__ import annotations

import json
import sys
from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)
from rich.table import Table

from assay.core.errors import InvalidInput

# Piped output is for scripts and logs: never truncate it to a terminal's width.
out = Console(highlight=False, soft_wrap=True, width=None if sys.stdout.isatty() else 1000)
err = Console(stderr=True, highlight=False)


def check_output(fmt: str) -> str:
    if fmt not in ("table", "json"):
        raise InvalidInput(f"unknown --output {fmt!r}: use table or json")
    return fmt


def as_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")


def table(rows: list[dict[str, Any]], columns: list[tuple[str, str]]) -> None:
    t = Table(box=None, pad_edge=False, header_style="bold")
    for title, _ in columns:
        t.add_column(title, overflow="fold")
    for row in rows:
        t.add_row(*(_cell(row.get(key)) for _, key in columns))
    out.print(t)


def _cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list | dict):
        return json.dumps(value)
    return str(value)


def ago(iso: str) -> str:
    """'4m5s ago', as seed 001 prints UPLOADED."""
    then = datetime.fromisoformat(iso.replace("Z", "+00:00"))
    secs = max(0, int((datetime.now(UTC) - then).total_seconds()))
    d, rem = divmod(secs, 86400)
    h, rem = divmod(rem, 3600)
    m, s = divmod(rem, 60)
    if d:
        return f"{d}d{h}h ago"
    if h:
        return f"{h}h{m}m ago"
    if m:
        return f"{m}m{s}s ago"
    return f"{s}s ago"


def evaluation_block(ev: dict[str, Any]) -> None:
    pad = 17
    lines = [
        ("ID:", ev["id"]),
        ("MODEL:", ev["modelRef"] or f"endpoint {ev.get('endpoint')}"),
        ("MODEL_COMMIT:", ev["modelCommit"] or "-"),
        ("DATASET:", ev["datasetRef"]),
        ("DATASET_COMMIT:", ev["datasetCommit"]),
        ("SOURCE:", ev["source"] + (f"  (STALE: {ev['stale']})" if ev.get("stale") else "")),
        ("UPLOADED:", ago(ev["startTime"])),
    ]
    for label, value in lines:
        out.print(f"{label:<{pad}}{value}")
    if ev.get("samples"):
        out.print(f"{'SAMPLES:':<{pad}}{ev['samples']} rows (assay samples {ev['id']})")
    if ev.get("artifacts"):
        names = ", ".join(a["name"] for a in ev["artifacts"])
        out.print(
            f"{'ARTIFACTS:':<{pad}}{names} (assay download-artifact ID NAME -o FILE)", markup=False
        )
    metrics: dict[str, Any] = ev["results"]["metric"]
    width = max([len("key"), *(len(k) for k in metrics)]) + 2
    out.print(f"{'RESULTS:':<{pad}}{'key':<{width}}value")
    for key, value in metrics.items():
        shown = json.dumps(value) if not isinstance(value, str) else value
        out.print(f"{'':<{pad}}{key:<{width}}{shown}")


class RichProgress:
    """Progress bars on stderr for hashing, uploads and downloads."""

    def __init__(self) -> None:
        self._progress: Progress | None = None
        self._task: Any = None

    def begin(self, description: str, total: int) -> None:
        if total <= 0 or not err.is_terminal:
            return
        self._progress = Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            DownloadColumn(),
            TransferSpeedColumn(),
            TimeRemainingColumn(),
            console=err,
            transient=True,
        )
        self._progress.start()
        self._task = self._progress.add_task(description, total=total)

    def advance(self, n: int) -> None:
        if self._progress is not None:
            self._progress.advance(self._task, n)

    def end(self) -> None:
        if self._progress is not None:
            self._progress.stop()
            self._progress = None
