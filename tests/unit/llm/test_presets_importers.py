"""The shipped presets are valid datasets; importers convert MMLU and GSM8K files."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from assay import importers, presets
from assay.core.errors import InvalidInput
from assay.evaluators.llm.params import parse
from assay.evaluators.llm.scorers import score
from assay.formats import llm


@pytest.mark.parametrize("name", sorted(presets.PRESETS))
def test_every_preset_is_a_valid_dataset_with_its_default_scoring(name: str) -> None:
    preset = presets.get(name)
    conversations = llm.parse([(preset.path.name, preset.path.read_text())])
    assert len(conversations) == preset.size >= 4
    p = parse({"scoring": preset.scoring})
    # Every turn can be scored by the preset's scorer, and its own reference passes.
    for conv in conversations:
        for turn in conv.turns:
            right = turn.reference or " ".join(turn.keywords)
            assert score(preset.scoring, right, turn, p) is True, (name, conv.id)


def test_mmlu_csv_becomes_lettered_questions_scored_by_regex(tmp_path: Path) -> None:
    f = tmp_path / "astronomy_test.csv"
    f.write_text('What orbits Earth?,The Sun,The Moon,Mars,"Venus, at dawn",B\n')
    text, defaults = importers.convert("mmlu-csv", [f])
    row = json.loads(text)
    assert defaults == {"scoring": "regex"} and row["reference"] == "B"
    assert "D. Venus, at dawn" in row["prompt"] and row["id"] == "astronomy_test-1"
    turn = llm.parse([("data.jsonl", text)])[0].turns[0]
    p = parse({"scoring": "regex"})
    assert score("regex", "B. The Moon", turn, p) and not score("regex", "A", turn, p)
    f.write_text("q,a,b,c,d,E\n")
    with pytest.raises(InvalidInput, match=r"astronomy_test\.csv line 1: expected question"):
        importers.convert("mmlu-csv", [f])


def test_gsm8k_jsonl_takes_the_final_number(tmp_path: Path) -> None:
    f = tmp_path / "gsm.jsonl"
    f.write_text(json.dumps({"question": "2 + 1,000?", "answer": "add\n#### 1,002"}) + "\n")
    text, defaults = importers.convert("gsm8k-jsonl", [f])
    row = json.loads(text)
    assert row["reference"] == "1002" and defaults == {"scoring": "regex"}
    assert re.search(row["pattern"], "so it is 1002\n#### 1002")
    assert not re.search(row["pattern"], "#### 10025")
    f.write_text('{"question": "q", "answer": "no marker"}\n')
    with pytest.raises(InvalidInput, match="no final '#### NUMBER'"):
        importers.convert("gsm8k-jsonl", [f])
    with pytest.raises(InvalidInput, match="unknown import format 'csv'"):
        importers.convert("csv", [f])
