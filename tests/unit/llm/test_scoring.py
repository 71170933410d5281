"""Rule scorers, judge parsing and conversation histories: the semantics docs/llm.md states."""

from __future__ import annotations

import pytest

from assay.core.errors import InvalidInput
from assay.evaluators.llm.judge import parse as parse_judge
from assay.evaluators.llm.params import parse
from assay.evaluators.llm.scorers import score
from assay.formats.llm import Turn, _conversation

DEFAULT = parse({})


@pytest.mark.parametrize(
    ("scorer", "reply", "turn", "params", "expected"),
    [
        ("exact", "  4  ", Turn(1, "4"), {}, True),
        ("exact", "STRASSE", Turn(1, "straße"), {}, True),  # Unicode case folding
        ("exact", "\uff30\uff41\uff52\uff49\uff53", Turn(1, "paris"), {}, True),  # NFKC: full width
        ("exact", "Paris", Turn(1, "paris"), {"ignore_case": False}, False),
        ("exact", "Paris.", Turn(1, "Paris"), {}, False),
        ("exact", "Paris.", Turn(1, "Paris"), {"strip_punctuation": True}, True),
        ("exact", "a\n\tb", Turn(1, "a b"), {}, True),
        ("exact", "a\n\tb", Turn(1, "a b"), {"normalize_whitespace": False}, False),
        ("prefix", "Paris, of course", Turn(1, "paris"), {}, True),
        ("prefix", "Of course Paris", Turn(1, "paris"), {}, False),
        ("contains", "Blue and green", Turn(1, None, ["blue", "red"]), {}, False),
        (
            "contains",
            "Blue and green",
            Turn(1, None, ["blue", "red"]),
            {"keywords_mode": "any"},
            True,
        ),
        ("contains", "x", Turn(1, "x"), {}, None),  # no keywords: not scored
        ("regex", "The answer is 42.", Turn(1, "x", pattern=r"\b42\b"), {}, True),
        ("regex", "ANSWER", Turn(1, "answer"), {}, True),  # the reference as a pattern
        ("regex", "so: ?why", Turn(1, "?why"), {}, True),  # not a pattern: taken literally
        ("exact", "x", Turn(1, None), {}, None),  # no reference: not scored
    ],
)
def test_rule_scorers(
    scorer: str, reply: str, turn: Turn, params: dict[str, object], expected: bool | None
) -> None:
    assert score(scorer, reply, turn, parse(params)) is expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('{"score": 4, "rationale": "good"}', (4.0, "good")),
        ('Sure! ```json\n{"score": 2, "rationale": "wrong city"}\n```', (2.0, "wrong city")),
        ("Score: 5\nThe answer matches.", (5.0, "Score: 5\nThe answer matches.")),
        ('{"score": 9, "rationale": "out of range"}', None),
        ("I like it a lot!", None),
    ],
)
def test_judge_replies_are_parsed_or_refused(text: str, expected: tuple[float, str] | None) -> None:
    assert parse_judge(text, 1, 5) == expected


def test_history_is_the_references_or_the_models_own_replies() -> None:
    conv = _conversation(
        {
            "messages": [
                {"role": "system", "content": "s"},
                {"role": "user", "content": "u1"},
                {"role": "assistant", "content": "a1"},
                {"role": "user", "content": "u2"},
                {"role": "assistant", "content": "a2"},
            ]
        },
        "d line 1",
        1,
    )
    assert [t.reference for t in conv.turns] == ["a1", "a2"]
    assert [m["content"] for m in conv.request(1)] == ["s", "u1"]
    assert [m["content"] for m in conv.request(2)] == ["s", "u1", "a1", "u2"]
    assert [m["content"] for m in conv.request(2, ["mine"])] == ["s", "u1", "mine", "u2"]


def test_parameters_are_checked() -> None:
    assert parse({"scoring": "prefix, contains"}).scoring == ("prefix", "contains")
    for bad, message in [
        ({"scoring": "bleu"}, "unknown bleu"),
        ({"keywords_mode": "some"}, "keywords_mode must be one of all, any"),
        ({"max_tokens": 0}, "max_tokens must be from 1"),
        ({"cache": "maybe"}, "cache must be true or false"),
        ({"scoring": "judge"}, "judge_endpoint"),
    ]:
        with pytest.raises(InvalidInput, match=message):
            parse(bad)
