from __future__ import annotations

import pytest

from assay.cli.eval_cmds import parse_metric
from assay.core.errors import InvalidInput


@pytest.mark.parametrize(
    ("text", "key", "value"),
    [
        ("loss=1.47", "loss", 1.47),
        ("epochs=3", "epochs", 3),
        ("note=ok", "note", "ok"),
        ("ok=true", "ok", True),
        ("eq=a=b", "eq", "a=b"),
        ("empty=", "empty", ""),
        ('per_class={"cat": 0.5}', "per_class", {"cat": 0.5}),
    ],
)
def test_metric_values_keep_their_types(text: str, key: str, value: object) -> None:
    assert parse_metric(text) == (key, value)
    assert type(parse_metric(text)[1]) is type(value)


@pytest.mark.parametrize("text", ["loss", "=1", " =1"])
def test_malformed_metrics(text: str) -> None:
    with pytest.raises(InvalidInput, match="KEY=VALUE"):
        parse_metric(text)
