"""Turning files a user has into Assay's LLM dataset format (docs/llm.md), with the scoring
each kind of set is meant for. Conversions run on the client; the result is committed as
``data.jsonl`` plus ``assay-llm.json`` (the default scoring)."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.core.errors import InvalidInput

LETTERS = "ABCD"


def mmlu_csv(path: Path) -> list[dict[str, Any]]:
    """MMLU's CSV: ``question,A,B,C,D,answer`` per row (no header), answer a letter."""
    rows = []
    text = path.read_text(encoding="utf-8")
    for n, row in enumerate(csv.reader(io.StringIO(text)), 1):
        if not row:
            continue
        if len(row) != 6 or row[5].strip().upper() not in LETTERS:
            raise InvalidInput(
                f"{path.name} line {n}: expected question,A,B,C,D,answer with the answer "
                f"one of {', '.join(LETTERS)}"
            )
        question, *choices, answer = row
        letter = answer.strip().upper()
        options = "\n".join(f"{c}. {t}" for c, t in zip(LETTERS, choices, strict=True))
        rows.append(
            {
                "id": f"{path.stem}-{n}",
                "prompt": f"{question}\n{options}\nAnswer with the letter of the right option.",
                "reference": letter,
                "pattern": rf"^\W*{letter}\b",
            }
        )
    return rows


def gsm8k_jsonl(path: Path) -> list[dict[str, Any]]:
    """GSM8K's JSONL: ``{"question", "answer"}`` with the final number after ``####``."""
    rows = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
            question, answer = item["question"], item["answer"]
        except (ValueError, KeyError, TypeError):
            raise InvalidInput(
                f'{path.name} line {n}: needs JSON with "question" and "answer"'
            ) from None
        final = answer.rsplit("####", 1)
        if len(final) != 2 or not final[1].strip():
            raise InvalidInput(f"{path.name} line {n}: the answer has no final '#### NUMBER'")
        number = final[1].strip().replace(",", "")
        rows.append(
            {
                "id": f"{path.stem}-{n}",
                "prompt": f"{question}\nEnd your answer with a line '#### <number>'.",
                "reference": number,
                "pattern": rf"####\s*\$?{re.escape(number)}(?![\d])",
            }
        )
    return rows


FORMATS: dict[str, tuple[Callable[[Path], list[dict[str, Any]]], str]] = {
    "mmlu-csv": (mmlu_csv, "regex"),
    "gsm8k-jsonl": (gsm8k_jsonl, "regex"),
}


def convert(format_: str, files: list[Path]) -> tuple[str, dict[str, Any]]:
    """(data.jsonl text, assay-llm.json defaults) of ``files`` in ``format_``."""
    if format_ not in FORMATS:
        raise InvalidInput(f"unknown import format {format_!r}: one of {', '.join(FORMATS)}")
    if not files:
        raise InvalidInput("give at least one file to import")
    reader, scoring = FORMATS[format_]
    rows = []
    for f in files:
        if not f.is_file():
            raise InvalidInput(f"{f} is not a file")
        rows += reader(f)
    if not rows:
        raise InvalidInput("the files hold no rows")
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), {"scoring": scoring}
