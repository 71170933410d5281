"""The CI regression gate over a comparison result (``hub.compare``): which watched metrics
got worse beyond the tolerance, and, if asked, significantly so."""

from __future__ import annotations

from typing import Any


def regressions(
    result: dict[str, Any],
    watched: list[str] | None,
    tolerance: float,
    significant_only: bool,
) -> list[str]:
    """Human lines for every watched metric that got worse beyond the tolerance."""
    found = []
    for r in result["candidates"]:
        tests = (r["samples"] or {}).get("metrics", {})
        for row in r["metrics"]:
            if watched and row["metric"] not in watched:
                continue
            worse = row["delta"] > tolerance if row["lowerIsBetter"] else row["delta"] < -tolerance
            if not worse:
                continue
            test = tests.get(row["metric"])
            if significant_only and not (test and test["significant"]):
                continue
            found.append(
                f"{r['candidate']}: {row['metric']} {row['baseline']:.6g} -> "
                f"{row['candidate']:.6g} ({row['delta']:+.6g}, tolerance {tolerance:g})"
            )
    return found
