"""The parameters of an llm job, checked when the job is created (in the server) and read
again in the worker: one definition for both."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from assay.core.errors import InvalidInput

SCORERS = ("exact", "prefix", "contains", "regex", "judge")


@dataclass(frozen=True)
class LlmParams:
    scoring: tuple[str, ...] = ("exact",)
    keywords_mode: str = "all"  # contains: every keyword ("all") or one ("any")
    ignore_case: bool = True
    normalize_whitespace: bool = True
    strip_punctuation: bool = False
    history: str = "reference"  # multi-turn: earlier turns are the references, or "model"
    max_tokens: int = 256
    temperature: float = 0.0
    concurrency: int | None = None  # overrides the endpoint's max concurrency
    request_timeout: float = 60.0
    retries: int = 4
    cache: bool = True
    judge_endpoint: str | None = None
    judge_rubric: str | None = None  # a file of the dataset commit
    judge_min: int = 1
    judge_max: int = 5
    judge_retries: int = 2
    inference: str = "online"  # or "batch": the OpenAI Batch API
    batch_poll: float = 10.0  # seconds between polls of a batch
    max_cost: float | None = None  # USD: refused above it at creation, stopped at it when running


def _bool(key: str, value: Any) -> bool:
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "false", "1", "0", "yes", "no"):
        return value.lower() in ("true", "1", "yes")
    raise InvalidInput(f"parameter {key} must be true or false, not {value!r}")


def _number(key: str, value: Any, kind: type, low: float, high: float) -> Any:
    try:
        number = kind(value)
    except (TypeError, ValueError):
        raise InvalidInput(f"parameter {key} must be a number, not {value!r}") from None
    if isinstance(value, bool) or not low <= number <= high:
        raise InvalidInput(f"parameter {key} must be from {low:g} to {high:g}, not {value!r}")
    return number


def parse(params: dict[str, Any]) -> LlmParams:
    p: dict[str, Any] = {}
    if "scoring" in params:
        names = tuple(s.strip() for s in str(params["scoring"]).split(",") if s.strip())
        unknown = [n for n in names if n not in SCORERS]
        if unknown or not names:
            raise InvalidInput(
                f"parameter scoring: unknown {', '.join(unknown) or '(empty)'}; "
                f"choose from {', '.join(SCORERS)}, comma-separated"
            )
        p["scoring"] = names
    for key, allowed in (
        ("keywords_mode", ("all", "any")),
        ("history", ("reference", "model")),
        ("inference", ("online", "batch")),
    ):
        if key in params:
            if params[key] not in allowed:
                raise InvalidInput(f"parameter {key} must be one of {', '.join(allowed)}")
            p[key] = params[key]
    for key in ("ignore_case", "normalize_whitespace", "strip_punctuation", "cache"):
        if key in params:
            p[key] = _bool(key, params[key])
    bounds: dict[str, tuple[type, float, float]] = {
        "max_tokens": (int, 1, 1_000_000),
        "temperature": (float, 0, 2),
        "concurrency": (int, 1, 4096),
        "request_timeout": (float, 0.1, 3600),
        "retries": (int, 0, 20),
        "judge_min": (int, -1000, 1000),
        "judge_max": (int, -1000, 1000),
        "judge_retries": (int, 0, 10),
        "max_cost": (float, 0, 1e9),
        "batch_poll": (float, 0.01, 3600),
    }
    for key, (kind, low, high) in bounds.items():
        if key in params:
            p[key] = _number(key, params[key], kind, low, high)
    for key in ("judge_endpoint", "judge_rubric"):
        if key in params:
            p[key] = str(params[key])
    out = LlmParams(**p)
    if "judge" in out.scoring and not out.judge_endpoint:
        raise InvalidInput("scoring=judge needs --param judge_endpoint=NAME")
    if out.inference == "batch" and out.history == "model":
        raise InvalidInput(
            "inference=batch sends every request at once, so it cannot answer multi-turn "
            "conversations from the model's own earlier replies (history=model); use "
            "history=reference or inference=online"
        )
    if out.judge_min >= out.judge_max:
        raise InvalidInput("judge_min must be below judge_max")
    return out


def check(params: dict[str, Any]) -> str | None:
    """Check an llm job's parameters; return the judge endpoint's name, if any."""
    return parse(params).judge_endpoint
