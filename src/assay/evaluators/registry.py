"""Evaluator registry: a job type name -> the class that evaluates it.

An evaluator runs inside a task's worker, never in the server: ``run_shard`` scores one slice
of the dataset and writes what ``merge`` needs into its output directory; ``merge`` combines
every shard's output exactly (no averaging of averages) into ``metrics.json``,
``samples.parquet`` and ``artifacts/``. Registering is a decorator; the contract is checked
when a class registers, not when a job first runs.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol, TypeVar, runtime_checkable

# Built-in job types and the module that registers each, imported on first use only (the
# server validates type names without importing numpy and friends).
BUILTIN = {
    "image-classification": "assay.evaluators.classification",
    "object-detection": "assay.evaluators.detection",
    "semantic-segmentation": "assay.evaluators.segmentation",
    "llm": "assay.evaluators.llm.evaluator",
}


@dataclass
class Stage:
    """Where a stage of an evaluation reads and writes."""

    model_dir: Path
    data_dir: Path
    output_dir: Path
    params: dict[str, Any] = field(default_factory=dict)
    shard: int = 0
    shards: int = 1
    shard_dirs: list[Path] = field(default_factory=list)  # merge only


@runtime_checkable
class Evaluator(Protocol):
    name: str

    def run_shard(self, stage: Stage) -> None: ...

    def merge(self, stage: Stage) -> None: ...


E = TypeVar("E")
_REGISTRY: dict[str, type[Any]] = {}


def evaluator(name: str) -> Callable[[type[E]], type[E]]:
    def register(cls: type[E]) -> type[E]:
        for method in ("run_shard", "merge"):
            if not callable(getattr(cls, method, None)):
                raise TypeError(f"evaluator {cls.__name__} lacks {method}()")
        cls.name = name  # type: ignore[attr-defined]
        _REGISTRY[name] = cls
        return cls

    return register


def get(name: str) -> Evaluator:
    if name in BUILTIN:
        importlib.import_module(BUILTIN[name])
    if name not in _REGISTRY:
        raise KeyError(f"no evaluator {name!r}; built in: {', '.join(sorted(BUILTIN))}")
    instance: Evaluator = _REGISTRY[name]()
    return instance
