"""Local backend: each task's worker is a subprocess in a session (process group) of its own,
so stopping a task stops the script and anything it spawned."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path

from assay.backends.base import Handle
from assay.worker.spec import TaskSpec

KILL_GRACE = 3.0


class LocalBackend:
    name = "local"

    def __init__(self) -> None:
        self.host = socket.gethostname()
        self._procs: dict[int, subprocess.Popen[bytes]] = {}
        self._lock = threading.Lock()
        # Called when a worker exits (the scheduler's wake-up), so the next step of a version
        # (its merge, its completion) need not wait for the next tick.
        self.on_exit: Callable[[], None] | None = None

    def start(self, spec: TaskSpec, spec_path: Path, log_path: Path) -> Handle:
        spec_path.parent.mkdir(parents=True, exist_ok=True)
        spec_path.write_text(json.dumps(spec.to_dict()))
        log_path.parent.mkdir(parents=True, exist_ok=True)
        # The worker sees only what it needs: no API keys, no database URL, no admin key.
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "LANG": "C.UTF-8",
            "PYTHONUNBUFFERED": "1",
            "HOME": spec.workdir,
            # The worker stops itself (and its script) once this process is gone: a server
            # killed with -9 leaves no task running on as a duplicate of its retry.
            "ASSAY_PARENT_PID": str(os.getpid()),
        }
        with open(log_path, "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "assay.worker", str(spec_path)],
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=env,
                cwd=spec.workdir,
                start_new_session=True,
            )
        with self._lock:
            self._procs[proc.pid] = proc
        if self.on_exit is not None:
            threading.Thread(target=_notify_on_exit, args=(proc, self.on_exit), daemon=True).start()
        return Handle(pid=proc.pid, host=self.host)

    def poll(self, handle: Handle) -> int | None:
        with self._lock:
            proc = self._procs.get(handle.pid)
        if proc is None:
            return -signal.SIGKILL
        code = proc.poll()
        if code is not None:
            with self._lock:
                self._procs.pop(handle.pid, None)
            _kill_group(handle.pid, signal.SIGKILL)  # leftovers of a killed worker
        return code

    def cancel(self, handle: Handle) -> None:
        _kill_group(handle.pid, signal.SIGTERM)

        def finish() -> None:
            time.sleep(KILL_GRACE)
            _kill_group(handle.pid, signal.SIGKILL)

        threading.Thread(target=finish, daemon=True).start()

    def reap_orphan(self, pid: int, host: str) -> None:
        if host != self.host or not _is_worker(pid):
            return
        _kill_group(pid, signal.SIGKILL)


def _notify_on_exit(proc: subprocess.Popen[bytes], notify: Callable[[], None]) -> None:
    proc.wait()  # poll() from the scheduler's thread stays safe: Popen locks its waitpid
    notify()


def _is_worker(pid: int) -> bool:
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return False
    return b"assay.worker" in cmdline


def _kill_group(pgid: int, sig: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, sig)
