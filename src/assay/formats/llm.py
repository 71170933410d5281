"""LLM datasets: JSONL, one conversation per line (see docs/llm.md).

Single-turn lines give ``prompt`` (optionally ``system``) or ``messages`` ending with a user
message, plus ``reference`` / ``keywords`` / ``pattern`` for the scorers. Multi-turn lines give
``messages`` alternating user and assistant (after an optional system message): every
assistant message is the reference for the reply to the user turn before it; ``keywords``
and ``pattern`` are then lists with one entry per turn. Errors name the file and line.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

from assay.core.errors import InvalidInput
from assay.formats import Files

Message = dict[str, str]
ROLES = ("system", "user", "assistant")
DEFAULTS = "assay-llm.json"  # a dataset's default parameters, e.g. {"scoring": "regex"}
DEFAULT_KEYS = (
    "scoring",
    "keywords_mode",
    "ignore_case",
    "normalize_whitespace",
    "strip_punctuation",
    "history",
)


@dataclass(frozen=True)
class Turn:
    """One reply to score: the user messages up to it, and what it is scored against."""

    index: int  # 1-based turn number
    reference: str | None
    keywords: list[str] = field(default_factory=list)
    pattern: str | None = None


@dataclass(frozen=True)
class Conversation:
    id: str
    messages: list[Message]  # as in the dataset (assistant messages are the references)
    turns: list[Turn]

    @property
    def multi_turn(self) -> bool:
        return len(self.turns) > 1 or self.messages[-1]["role"] == "assistant"

    def request(self, turn: int, replies: list[str] | None = None) -> list[Message]:
        """Messages sent for turn ``turn`` (1-based): everything before its user message's
        answer. Earlier assistant turns are the dataset's references, or ``replies`` (the
        model's own earlier answers) when given."""
        out: list[Message] = []
        seen = 0
        for m in self.messages:
            if m["role"] == "assistant":
                if seen == turn:
                    break
                out.append(
                    {"role": "assistant", "content": replies[seen - 1]} if replies else dict(m)
                )
                continue
            if m["role"] == "user":
                seen += 1
                if seen > turn:
                    break
            out.append(dict(m))
        return out


def _strings(value: Any, where: str, what: str) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise InvalidInput(f"{where}: {what} must be a list of strings")
    return list(value)


def _messages(value: Any, where: str) -> list[Message]:
    if not isinstance(value, list) or not value:
        raise InvalidInput(f'{where}: "messages" must be a non-empty list')
    out = []
    for i, m in enumerate(value):
        if not isinstance(m, dict) or m.get("role") not in ROLES:
            raise InvalidInput(f"{where}: messages[{i}] needs a role of {', '.join(ROLES)}")
        if not isinstance(m.get("content"), str):
            raise InvalidInput(f"{where}: messages[{i}] needs a string content")
        out.append({"role": m["role"], "content": m["content"]})
    body = out[1:] if out[0]["role"] == "system" else out
    for i, m in enumerate(body):
        expected = "user" if i % 2 == 0 else "assistant"
        if m["role"] != expected:
            raise InvalidInput(
                f"{where}: roles out of order: message {i + len(out) - len(body)} is "
                f"{m['role']!r} where {expected!r} was expected (system first, then user and "
                "assistant alternating)"
            )
    if not body:
        raise InvalidInput(f"{where}: messages hold no user message")
    return out


def _conversation(item: Any, where: str, n: int) -> Conversation:
    if not isinstance(item, dict):
        raise InvalidInput(f"{where} is not a JSON object")
    cid = item.get("id", f"line-{n}")
    if not isinstance(cid, str | int) or isinstance(cid, bool) or str(cid) == "":
        raise InvalidInput(f'{where}: "id" must be a non-empty string or number')
    if "messages" in item:
        messages = _messages(item["messages"], where)
    elif isinstance(item.get("prompt"), str):
        messages = [{"role": "user", "content": item["prompt"]}]
        if item.get("system") is not None:
            if not isinstance(item["system"], str):
                raise InvalidInput(f'{where}: "system" must be a string')
            messages.insert(0, {"role": "system", "content": item["system"]})
    else:
        raise InvalidInput(f'{where}: needs a string "prompt" or a "messages" list')
    answers = [m["content"] for m in messages if m["role"] == "assistant"]
    if answers:  # multi-turn: every assistant message is a reference
        if messages[-1]["role"] != "assistant":
            raise InvalidInput(
                f"{where}: a multi-turn conversation must end with the assistant's reference "
                "reply to its last user message"
            )
        if item.get("reference") is not None:
            raise InvalidInput(
                f"{where}: a multi-turn line takes its references from the assistant messages, "
                'not "reference"'
            )
        keywords = item.get("keywords")
        per_turn: list[list[str]] = [[] for _ in answers]
        if keywords is not None:
            if not isinstance(keywords, list) or len(keywords) != len(answers):
                raise InvalidInput(
                    f'{where}: "keywords" of a multi-turn line must be a list with one list '
                    f"of strings per assistant turn ({len(answers)})"
                )
            per_turn = [_strings(k, where, f"keywords[{i}]") for i, k in enumerate(keywords)]
        patterns = item.get("pattern")
        if patterns is not None and (
            not isinstance(patterns, list)
            or len(patterns) != len(answers)
            or not all(isinstance(p, str | None) for p in patterns)
        ):
            raise InvalidInput(f'{where}: "pattern" of a multi-turn line needs one per turn')
        turns = [
            Turn(k + 1, a, per_turn[k], patterns[k] if patterns else None)
            for k, a in enumerate(answers)
        ]
    else:
        reference = item.get("reference")
        if reference is not None and not isinstance(reference, str):
            raise InvalidInput(f'{where}: "reference" must be a string')
        keywords = _strings(item.get("keywords", []), where, '"keywords"')
        pattern = item.get("pattern")
        if pattern is not None and not isinstance(pattern, str):
            raise InvalidInput(f'{where}: "pattern" must be a string')
        turns = [Turn(1, reference, keywords, pattern)]
    for t in turns:
        if t.pattern is not None:
            try:
                re.compile(t.pattern)
            except re.error as exc:
                raise InvalidInput(
                    f'{where}: "pattern" {t.pattern!r} is not a regex: {exc}'
                ) from None
    return Conversation(str(cid), messages, turns)


def parse(texts: list[tuple[str, str]]) -> list[Conversation]:
    """Conversations from (file name, JSONL text) pairs, validated, ids unique."""
    out: list[Conversation] = []
    seen: dict[str, str] = {}
    for name, text in texts:
        for n, line in enumerate(text.splitlines(), 1):
            if not line.strip():
                continue
            where = f"{name} line {n}"
            try:
                item = json.loads(line)
            except ValueError:
                raise InvalidInput(f"{where} is not JSON") from None
            conv = _conversation(item, where, n)
            if conv.id in seen:
                raise InvalidInput(f"{where}: id {conv.id!r} was already used at {seen[conv.id]}")
            seen[conv.id] = where
            out.append(conv)
    if not out:
        raise InvalidInput("the dataset's .jsonl files hold no lines")
    return out


def jsonl_names(paths: list[str]) -> list[str]:
    names = [p for p in paths if p.endswith(".jsonl") and "/" not in p]
    if not names:
        raise InvalidInput("the dataset holds no .jsonl file at its root (see docs/llm.md)")
    return names


def load(files: Files) -> list[Conversation]:
    """Every ``*.jsonl`` file at the dataset's root, in path order, validated."""
    defaults(files.read_text(DEFAULTS))
    return parse(
        [
            (name, files.require(name, "dataset file").read_text(encoding="utf-8"))
            for name in jsonl_names(files.paths())
        ]
    )


def defaults(text: str | None) -> dict[str, Any]:
    """The parameters a dataset sets for the jobs that use it (the job's own win)."""
    if text is None:
        return {}
    try:
        data = json.loads(text)
    except ValueError:
        raise InvalidInput(f"{DEFAULTS} is not JSON") from None
    if not isinstance(data, dict) or set(data) - set(DEFAULT_KEYS):
        raise InvalidInput(
            f"{DEFAULTS} must be an object with keys among {', '.join(DEFAULT_KEYS)}"
        )
    if "judge" in str(data.get("scoring", "")):
        raise InvalidInput(f"{DEFAULTS} cannot ask for judge scoring: the job names its judge")
    return data
