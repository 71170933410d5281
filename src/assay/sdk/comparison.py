"""The typed result of ``hub.compare``: one ``MetricDelta`` per metric and candidate, with
its paired test when there is one. ``Comparison.data`` (and indexing) is the REST JSON."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from assay.sdk.gate import regressions


@dataclass(frozen=True)
class MetricDelta:
    candidate: str
    metric: str
    baseline: float
    value: float
    delta: float
    lower_is_better: bool
    # Paired sample statistics, when both measured the same dataset commit:
    p_holm: float | None = None
    interval: tuple[float, float] | None = None
    significant: bool | None = None
    fixed: int | None = None
    regressed: int | None = None
    samples_needed: int | None = None

    @property
    def worse(self) -> bool:
        return self.delta > 0 if self.lower_is_better else self.delta < 0


@dataclass(frozen=True)
class Comparison:
    baseline: str
    baseline_id: str
    deltas: list[MetricDelta]
    data: dict[str, Any] = field(repr=False)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Comparison:
        deltas = []
        for r in data["candidates"]:
            tests = (r["samples"] or {}).get("metrics", {})
            for m in r["metrics"]:
                t = tests.get(m["metric"], {})
                deltas.append(
                    MetricDelta(
                        candidate=r["candidate"],
                        metric=m["metric"],
                        baseline=m["baseline"],
                        value=m["candidate"],
                        delta=m["delta"],
                        lower_is_better=m["lowerIsBetter"],
                        p_holm=t.get("pHolm"),
                        interval=tuple(t["interval"]) if t.get("interval") else None,
                        significant=t.get("significant"),
                        fixed=t.get("fixed"),
                        regressed=t.get("regressed"),
                        samples_needed=t.get("samplesNeeded"),
                    )
                )
        return cls(data["baseline"], data["baselineId"], deltas, data)

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    def regressions(
        self,
        metrics: list[str] | None = None,
        tolerance: float = 0.0,
        significant_only: bool = False,
    ) -> list[str]:
        """The gate: a line per watched metric that got worse beyond the tolerance."""
        return regressions(self.data, metrics, tolerance, significant_only)
