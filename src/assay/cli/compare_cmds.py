"""assay compare: deltas against a baseline, paired statistics, the CI regression gate."""

from __future__ import annotations

import csv
import sys
from typing import Annotated, Any

import typer

from assay import hub
from assay.cli import render
from assay.cli.app import app
from assay.core.errors import InvalidInput
from assay.sdk.gate import regressions

FORMATS = ("table", "json", "csv", "markdown")


def _flat(result: dict[str, Any]) -> list[dict[str, Any]]:
    rows = []
    for r in result["candidates"]:
        tests = (r["samples"] or {}).get("metrics", {})
        for m in r["metrics"]:
            t = tests.get(m["metric"], {})
            rows.append(
                {
                    "candidate": r["candidate"],
                    "metric": m["metric"],
                    "baseline": m["baseline"],
                    "value": m["candidate"],
                    "delta": m["delta"],
                    "p_holm": t.get("pHolm"),
                    "ci_low": (t.get("interval") or [None, None])[0],
                    "ci_high": (t.get("interval") or [None, None])[1],
                    "significant": t.get("significant"),
                    "fixed": t.get("fixed"),
                    "regressed": t.get("regressed"),
                    "samples_needed": t.get("samplesNeeded"),
                }
            )
    return rows


def _num(v: Any) -> str:
    if v is None:
        return "-"
    if isinstance(v, bool):
        return "yes" if v else "no"
    return f"{v:.4g}" if isinstance(v, float) else str(v)


def _markdown(result: dict[str, Any]) -> None:
    head = ["candidate", "metric", "baseline", "value", "delta", "p (Holm)", "CI", "significant"]
    print("| " + " | ".join(head) + " |")
    print("|" + " --- |" * len(head))
    for r in _flat(result):
        ci = f"[{_num(r['ci_low'])}, {_num(r['ci_high'])}]" if r["ci_low"] is not None else "-"
        cells = [r["candidate"], r["metric"], _num(r["baseline"]), _num(r["value"])]
        cells += [f"{r['delta']:+.4g}", _num(r["p_holm"]), ci, _num(r["significant"])]
        print("| " + " | ".join(cells) + " |")


def _table(result: dict[str, Any]) -> None:
    level = f"{result['confidence']:.0%}"
    render.out.print(f"baseline {result['baseline']}", highlight=False)
    if result.get("baselineStale"):
        render.out.print(f"  STALE: {result['baselineStale']}", highlight=False)
    for r in result["candidates"]:
        render.out.print(f"\ncandidate {r['candidate']}", highlight=False)
        if r.get("stale"):
            render.out.print(f"  STALE: {r['stale']}", highlight=False)
        rows = [
            {
                "metric": f["metric"],
                "baseline": _num(f["baseline"]),
                "value": _num(f["value"]),
                "delta": f"{f['delta']:+.4g}",
                "p": _num(f["p_holm"]),
                "ci": f"[{_num(f['ci_low'])}, {_num(f['ci_high'])}]"
                if f["ci_low"] is not None
                else "-",
                "sig": _num(f["significant"]),
            }
            for f in _flat({"candidates": [r]})
        ]
        render.table(
            rows,
            [
                ("METRIC", "metric"),
                ("BASELINE", "baseline"),
                ("CANDIDATE", "value"),
                ("DELTA", "delta"),
                ("P (HOLM)", "p"),
                (f"{level} CI", "ci"),
                ("SIGNIFICANT", "sig"),
            ],
        )
        for metric, t in ((r["samples"] or {}).get("metrics") or {}).items():
            line = (
                f"{metric}: {t['fixed']} fixed, {t['regressed']} regressed, "
                f"{t['unchanged']} unchanged of {t['n']} paired samples"
            )
            if t["regressedExamples"]:
                line += f"; regressed e.g. {', '.join(t['regressedExamples'])}"
            if t["samplesNeeded"]:
                line += f"; ~{t['samplesNeeded']:,} samples would detect this delta at 80% power"
            render.out.print(line, highlight=False)
        if r["samplesNote"]:
            render.out.print(f"no sample-level comparison: {r['samplesNote']}", highlight=False)


@app.command("compare")
def compare(
    candidates: Annotated[list[str], typer.Argument(help="evaluation ids or JOB:VERSION")],
    baseline: Annotated[
        str | None,
        typer.Option(help="evaluation id or JOB:VERSION; default: the pinned baseline"),
    ] = None,
    metric: Annotated[
        list[str] | None, typer.Option("--metric", help="only these metrics (repeat)")
    ] = None,
    fail_on_regression: Annotated[
        bool, typer.Option("--fail-on-regression", help="exit 1 if a metric got worse")
    ] = False,
    tolerance: Annotated[float, typer.Option(help="allowed worsening (absolute)")] = 0.0,
    significant_only: Annotated[
        bool, typer.Option("--significant-only", help="gate only on significant regressions")
    ] = False,
    confidence: Annotated[float, typer.Option(help="confidence level of tests")] = 0.95,
    resamples: Annotated[int, typer.Option(help="bootstrap resamples")] = 2000,
    seed: Annotated[int, typer.Option(help="bootstrap seed")] = 0,
    output: Annotated[
        str, typer.Option("--output", "-o", help="table, json, csv or markdown")
    ] = "table",
) -> None:
    """Compare evaluations with a baseline: deltas, fixed/regressed samples, significance."""
    if output not in FORMATS:
        raise InvalidInput(f"--output must be one of {', '.join(FORMATS)}")
    result = hub.compare(candidates, baseline, metric, confidence, resamples, seed).data
    if output == "json":
        render.as_json(result)
    elif output == "csv":
        rows = _flat(result)
        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]) if rows else ["metric"])
        writer.writeheader()
        writer.writerows(rows)
    elif output == "markdown":
        _markdown(result)
    else:
        _table(result)
    if fail_on_regression:
        found = regressions(result, metric, tolerance, significant_only)
        for line in found:
            render.err.print(f"REGRESSION {line}", highlight=False)
        if found:
            raise typer.Exit(1)
        render.err.print("no regression beyond the tolerance", highlight=False)


@app.command("diff")
def diff(
    baseline: Annotated[str, typer.Argument(help="evaluation id or JOB:VERSION")],
    candidate: Annotated[str, typer.Argument(help="evaluation id or JOB:VERSION")],
    only: Annotated[str | None, typer.Option(help="fixed or regressed")] = None,
    limit: Annotated[int, typer.Option(help="at most this many samples")] = 20,
    output: Annotated[str, typer.Option("--output", "-o", help="table or json")] = "table",
) -> None:
    """Samples whose correctness or score changed from BASELINE to CANDIDATE, side by side."""
    result = hub.diff(baseline, candidate, only, limit)
    if render.check_output(output) == "json":
        render.as_json(result)
        return
    render.err.print(
        f"{result['fixed']} fixed, {result['regressed']} regressed (by {result['column']})",
        highlight=False,
    )
    rows = result["rows"]
    if not rows:
        return
    names = [k for k in rows[0] if k not in ("column",)]
    render.table(
        [{k: _num(v) if not isinstance(v, str) else v for k, v in r.items()} for r in rows],
        [(n.upper(), n) for n in names],
    )


@app.command("pin")
def pin(
    evaluation: Annotated[str, typer.Argument(help="evaluation id or JOB:VERSION")],
    job: Annotated[str | None, typer.Option(help="the job it is the baseline of")] = None,
    model: Annotated[str | None, typer.Option(help="the model it is the baseline of")] = None,
) -> None:
    """Pin a baseline: `assay compare` then compares the job's (or model's) evaluations
    with it unless --baseline is given. Pinning another replaces it."""
    done = hub.pin(evaluation, job=job, model=model)
    render.err.print(f"Pinned {evaluation} as the baseline of {done['for']}", highlight=False)
