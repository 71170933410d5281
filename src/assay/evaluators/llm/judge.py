"""LLM-as-judge: another endpoint scores each reply with a rubric on a stated scale. A reply
whose score cannot be read is asked again, then recorded as an error, never as a score."""

from __future__ import annotations

import json
import re
import string
from dataclasses import dataclass
from typing import Any

from assay.core.errors import InvalidInput
from assay.evaluators.llm.client import ChatClient

RUBRIC = """You are grading an assistant's answer against a reference answer.

Question:
{question}

Reference answer:
{reference}

Assistant's answer:
{reply}

Score the assistant's answer from {low} (wrong or unhelpful) to {high} (fully correct and \
complete, agreeing with the reference). Reply with only a JSON object:
{{"score": <integer from {low} to {high}>, "rationale": "<one sentence>"}}"""

_SCORE = re.compile(r"""["']?score["']?\s*[:=]\s*(-?\d+(?:\.\d+)?)""", re.IGNORECASE)


@dataclass
class Verdict:
    score: float | None
    rationale: str
    error: str | None
    prompt_tokens: int
    completion_tokens: int


PLACEHOLDERS = ("question", "reference", "reply", "low", "high")
_FORMATTER = string.Formatter()


def fill(rubric: str, name: str, values: dict[str, object]) -> str:
    """The rubric with its placeholders filled in: plain names only. ``str.format`` would
    also follow ``{reply.__class__...}`` and ``{question[0]}``; a user's rubric gets no
    attribute access, indexing, conversion or nested field: a sandboxed template."""
    out = []
    try:
        for literal, field, spec, conversion in _FORMATTER.parse(rubric):
            out.append(literal)
            if field is None:
                continue
            if field not in values or conversion or "{" in (spec or ""):
                raise ValueError(repr("{" + field + "}"))
            out.append(format(values[field], spec or ""))
    except ValueError as exc:
        raise InvalidInput(
            f"judge rubric {name}: {exc} is not a placeholder Assay fills in; use "
            "{question}, {reference}, {reply}, {low}, {high}, and write literal braces as "
            "{{ and }}"
        ) from None
    return "".join(out)


def check_rubric(rubric: str, name: str) -> None:
    """A rubric must fill in with exactly the placeholders Assay provides."""
    fill(rubric, name, dict.fromkeys(PLACEHOLDERS, ""))


def parse(text: str, low: int, high: int) -> tuple[float, str] | None:
    """(score, rationale) from a judge's reply: a JSON object, else a "score: N" line."""
    found = re.search(r"\{.*\}", text, re.DOTALL)
    if found:
        try:
            data = json.loads(found.group(0))
            score = float(data["score"])
            if low <= score <= high:
                return score, str(data.get("rationale", ""))
        except (ValueError, KeyError, TypeError):
            pass
    match = _SCORE.search(text)
    if match and low <= float(match.group(1)) <= high:
        return float(match.group(1)), text.strip()[:500]
    return None


async def judge(
    client: ChatClient,
    rubric: str,
    question: str,
    reference: str | None,
    reply: str,
    low: int,
    high: int,
    retries: int,
) -> Verdict:
    prompt = fill(
        rubric,
        "rubric",
        {
            "question": question,
            "reference": reference or "(none given)",
            "reply": reply,
            "low": low,
            "high": high,
        },
    )
    tokens = [0, 0]
    last = ""
    for attempt in range(retries + 1):
        generation: dict[str, Any] = {"temperature": 0, "max_tokens": 300}
        if attempt:  # a new request, not the cached unparseable one
            generation["seed"] = attempt
        answer = await client.chat([{"role": "user", "content": prompt}], generation)
        tokens[0] += answer.prompt_tokens
        tokens[1] += answer.completion_tokens
        parsed = parse(answer.text, low, high)
        if parsed is not None:
            return Verdict(parsed[0], parsed[1], None, *tokens)
        last = answer.text
    return Verdict(
        None,
        "",
        f"the judge gave no score from {low} to {high} in {retries + 1} tries; "
        f"last reply: {last[:200]!r}",
        *tokens,
    )
