"""Small evaluation sets written for Assay (seed 003's preset datasets), each with its default
scoring. ``--dataset preset:NAME`` commits one as the caller's dataset ``presets/NAME`` (once
per content) and runs on it."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from assay.core.errors import NotFound

HERE = Path(__file__).parent


@dataclass(frozen=True)
class Preset:
    name: str
    description: str
    scoring: str

    @property
    def path(self) -> Path:
        return HERE / f"{self.name}.jsonl"

    @property
    def size(self) -> int:
        return sum(1 for line in self.path.read_text().splitlines() if line.strip())


PRESETS = {
    p.name: p
    for p in (
        Preset("arithmetic", "word problems with numeric answers", "regex"),
        Preset("facts", "factual questions scored by keywords", "contains"),
        Preset("format", "format-following: the reply must start as told", "prefix"),
        Preset("multi-turn", "short conversations that need the earlier turns", "prefix"),
    )
}


def get(name: str) -> Preset:
    if name not in PRESETS:
        raise NotFound(f"no preset {name!r}; `assay ls preset` lists {', '.join(PRESETS)}")
    return PRESETS[name]
