"""Rule scorers: exact, prefix, contains (keywords), regex. Text is normalised first as the
parameters say (case, whitespace, punctuation); see docs/llm.md for examples."""

from __future__ import annotations

import re
import unicodedata

from assay.evaluators.llm.params import LlmParams
from assay.formats.llm import Turn

RULES = ("exact", "prefix", "contains", "regex")
_SPACE = re.compile(r"\s+")


def normalise(text: str, p: LlmParams) -> str:
    text = unicodedata.normalize("NFKC", text)
    if p.ignore_case:
        text = text.casefold()
    if p.strip_punctuation:
        text = "".join(ch for ch in text if not unicodedata.category(ch).startswith("P"))
    if p.normalize_whitespace:
        text = _SPACE.sub(" ", text).strip()
    return text


def score(name: str, reply: str, turn: Turn, p: LlmParams) -> bool | None:
    """True/False, or None when the line gives nothing to score this rule against."""
    if name == "regex":
        flags = re.IGNORECASE if p.ignore_case else 0
        if turn.pattern is not None:  # checked when the dataset was read
            return re.search(turn.pattern, reply, flags) is not None
        if turn.reference is None:
            return None
        try:
            return re.search(turn.reference, reply, flags) is not None
        except re.error:  # a reference that is not a valid pattern is matched literally
            return re.search(re.escape(turn.reference), reply, flags) is not None
    got = normalise(reply, p)
    if name == "contains":
        if not turn.keywords:
            return None
        hits = [normalise(k, p) in got for k in turn.keywords]
        return all(hits) if p.keywords_mode == "all" else any(hits)
    if turn.reference is None:
        return None
    want = normalise(turn.reference, p)
    return got == want if name == "exact" else got.startswith(want)
