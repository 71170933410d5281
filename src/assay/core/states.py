"""The life of a job version, in one place.

``Creating -> Queuing -> Running -> Completed | Failed | Terminated | TimedOut``. Terminate is
accepted before the end (Creating, Queuing, Running); a final state never changes again, so a
terminated version never runs. Every state change in the code goes through :func:`check`.
"""

from __future__ import annotations

from enum import StrEnum

from assay.core.errors import Conflict


class State(StrEnum):
    CREATING = "Creating"
    QUEUING = "Queuing"
    RUNNING = "Running"
    COMPLETED = "Completed"
    FAILED = "Failed"
    TERMINATED = "Terminated"
    TIMED_OUT = "TimedOut"


FINAL = frozenset({State.COMPLETED, State.FAILED, State.TERMINATED, State.TIMED_OUT})
ACTIVE = frozenset({State.CREATING, State.QUEUING, State.RUNNING})

_ALLOWED: dict[State, frozenset[State]] = {
    State.CREATING: frozenset({State.QUEUING, State.FAILED, State.TERMINATED}),
    State.QUEUING: frozenset({State.RUNNING, State.FAILED, State.TERMINATED}),
    State.RUNNING: frozenset({State.COMPLETED, State.FAILED, State.TERMINATED, State.TIMED_OUT}),
}


def can_move(current: str, target: State) -> bool:
    return target in _ALLOWED.get(State(current), frozenset())


def check(current: str, target: State, what: str) -> None:
    """Raise Conflict unless ``current -> target`` is a legal move."""
    if not can_move(current, target):
        if State(current) in FINAL:
            raise Conflict(
                f"{what} is already {current}: a finished version never changes "
                "(create a new version instead)"
            )
        raise Conflict(f"{what} cannot go from {current} to {target}")


def sources(target: State) -> frozenset[State]:
    """The states from which ``target`` may be reached."""
    return frozenset(s for s, allowed in _ALLOWED.items() if target in allowed)
