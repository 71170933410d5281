from __future__ import annotations

import pytest

from assay.core.errors import Conflict
from assay.core.states import ACTIVE, FINAL, State, can_move, check, sources


def test_final_states_never_change() -> None:
    for final in FINAL:
        for target in State:
            assert not can_move(final, target)


def test_terminate_is_accepted_before_the_end_only() -> None:
    assert sources(State.TERMINATED) == ACTIVE
    with pytest.raises(Conflict, match="already Completed"):
        check(State.COMPLETED, State.TERMINATED, "j:V0001")


def test_the_documented_life() -> None:
    assert sources(State.QUEUING) == {State.CREATING}
    assert sources(State.RUNNING) == {State.QUEUING}
    assert sources(State.COMPLETED) == {State.RUNNING}
    assert sources(State.TIMED_OUT) == {State.RUNNING}
    with pytest.raises(Conflict, match="cannot go from Queuing to Completed"):
        check(State.QUEUING, State.COMPLETED, "j:V0001")
