"""How the scheduler reads a task that ended badly, and tells a stale run from its own.

Execution is at-least-once (a worker whose scheduler looked dead may still be running when
another scheduler retries its task); results are exactly-once. Two rules give that: a run is
*stale* once its task row names another scheduler or a later attempt, and a stale run writes
nothing (its process is stopped, its outcome dropped); and a version's evaluation is written
only in the transaction that moves the version from Running to a final state, so a second
completion of the same version finds it final and is a no-op.
"""

from __future__ import annotations

import os
import signal

from assay.db.models import Task

# The out-of-memory killer (and a cgroup's memory limit) ends a process with SIGKILL.
_SIGNAL_HINTS = {
    signal.SIGKILL: "SIGKILL: out of memory, or killed by hand",
    signal.SIGSEGV: "SIGSEGV: a crash in native code",
    signal.SIGXCPU: "SIGXCPU: its CPU-time limit",
}


def stale(task: Task | None, scheduler_id: str, attempt: int) -> bool:
    """Whether this scheduler's run of ``attempt`` no longer owns ``task``: it was recovered
    by another scheduler (this one looked dead) and retried, or the task is gone."""
    return task is None or task.scheduler_id != scheduler_id or task.attempts != attempt


def _signal_text(number: int) -> str:
    try:
        hint = _SIGNAL_HINTS.get(signal.Signals(number))
    except ValueError:
        hint = None
    return f"signal {number} ({hint})" if hint else f"signal {number}"


def failure(code: int, result: dict[str, object]) -> tuple[bool, str]:
    """Whether a task that ended badly lost its worker (retried, up to the task's
    max_attempts) or failed by itself (not retried)."""
    if code < 0:
        return True, f"worker killed by {_signal_text(-code)}"
    sig = result.get("signal")
    if sig:
        return True, f"script killed by {_signal_text(int(str(sig)))}"
    if result.get("message"):  # the worker said why (e.g. its runtime did not install)
        return False, str(result["message"])
    if not result:
        return False, f"worker ended with code {code} before running the script"
    return False, f"the script exited with code {code}"


def pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
