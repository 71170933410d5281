"""The contract a backend implements.

A backend starts a worker for a task spec, tells whether it has ended (and how), stops it, and
cleans up a worker a previous scheduler left behind. It knows nothing of versions, states or
the database: the scheduler owns every state change.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from assay.worker.spec import TaskSpec


@dataclass
class Handle:
    """A started worker."""

    pid: int
    host: str
    id: str = ""  # the backend's own id where a pid does not name the worker (a Ray task)


class Backend(Protocol):
    name: str

    def start(self, spec: TaskSpec, spec_path: Path, log_path: Path) -> Handle:
        """Start a worker for ``spec`` (written at ``spec_path``), appending output to
        ``log_path``."""
        ...

    def poll(self, handle: Handle) -> int | None:
        """The worker's exit code (negative: killed by that signal), or None while it runs."""
        ...

    def cancel(self, handle: Handle) -> None:
        """Stop the worker and everything it started; returns at once (poll to see it end)."""
        ...

    def reap_orphan(self, pid: int, host: str) -> None:
        """Stop a worker started by a scheduler that is gone, if it is still running here."""
        ...
