"""Judge rubrics are users' text: filled in as a sandboxed template, placeholders only."""

from __future__ import annotations

import pytest

from assay.core.errors import InvalidInput
from assay.evaluators.llm.judge import RUBRIC, check_rubric, fill

VALUES = {"question": "q?", "reference": "r", "reply": "a", "low": 1, "high": 5}


def test_the_default_rubric_fills_in_as_str_format_would() -> None:
    assert fill(RUBRIC, "default", VALUES) == RUBRIC.format(**VALUES)


def test_literal_braces_and_format_specs_work() -> None:
    assert fill("{{x}} {low:>3} {reply}", "r", VALUES) == "{x}   1 a"


@pytest.mark.parametrize(
    "rubric",
    [
        "{reply.__class__.__mro__}",
        "{question.__class__.__init__.__globals__}",
        "{question[0]}",
        "{reply!r}",
        "{low:{high}}",
        "{api_key}",
        "{0}",
        "{}",
        "unbalanced {",
    ],
)
def test_anything_but_a_plain_placeholder_is_refused(rubric: str) -> None:
    with pytest.raises(InvalidInput, match="is not a placeholder Assay fills in"):
        check_rubric(rubric, "rubric.txt")
