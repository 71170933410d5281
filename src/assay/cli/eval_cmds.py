"""Evaluations: create, ls, get, delete."""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from assay import hub
from assay.cli import render
from assay.cli.app import OUTPUT_HELP, app, create, delete, get, ls
from assay.core.errors import InvalidInput

Output = Annotated[str, typer.Option("--output", "-o", help=OUTPUT_HELP)]


def parse_metric(
    text: str, what: str = "metric", example: str = "-m accuracy=0.99"
) -> tuple[str, Any]:
    """``key=value``: the value keeps its JSON type (1.47 a number, true a bool, ok a string)."""
    key, sep, raw = text.partition("=")
    if not sep or not key.strip():
        raise InvalidInput(f"{what} {text!r} is not KEY=VALUE, e.g. {example}")
    try:
        value: Any = json.loads(raw)
    except ValueError:
        value = raw
    return key.strip(), value


def read_metrics_file(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text())
    except OSError as exc:
        raise InvalidInput(f"cannot read metrics file {path}: {exc.strerror}") from None
    except ValueError as exc:
        raise InvalidInput(f"metrics file {path} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidInput(f"metrics file {path} must hold a JSON object of name -> value")
    return data


@create.command("evaluation")
def create_evaluation(
    model: Annotated[str, typer.Argument(help="model ref, e.g. FOLDER/MODEL:branch/v1")],
    dataset: Annotated[str, typer.Option("--dataset", "-d", help="dataset ref")],
    metric: Annotated[
        list[str] | None, typer.Option("--metric", "-m", help="KEY=VALUE (repeatable)")
    ] = None,
    metrics_file: Annotated[
        Path | None, typer.Option("--metrics-file", help="JSON object of metrics (may be nested)")
    ] = None,
    output: Output = "table",
) -> None:
    """Record metrics measured elsewhere, bound to the commits the refs point at now."""
    render.check_output(output)
    metrics: dict[str, Any] = read_metrics_file(metrics_file) if metrics_file else {}
    for text in metric or []:
        key, value = parse_metric(text)
        metrics[key] = value
    if not metrics:
        raise InvalidInput("no metrics: give -m KEY=VALUE or --metrics-file FILE")
    ev = hub.create_evaluation(
        model=_typed(model, "model"), dataset=_typed(dataset, "dataset"), metrics=metrics
    )
    if output == "json":
        render.as_json(ev)
    else:
        render.out.print(ev["id"])


def _typed(ref: str, type_: str) -> str:
    """Give the ref the type the option implies unless it names one itself."""
    head = ref.split(":", 1)[0].split("/")
    return ref if len(head) >= 3 else f"{type_}/{ref}"


@ls.command("evaluation")
def ls_evaluation(
    ref: Annotated[
        str | None, typer.Argument(help="model or dataset ref; omit to list all you can see")
    ] = None,
    all_commits: Annotated[
        bool, typer.Option("--all-commits", help="every commit in the ref's history")
    ] = False,
    limit: Annotated[int, typer.Option(help="at most this many")] = 100,
    model: Annotated[str | None, typer.Option(help="of this model ref")] = None,
    dataset: Annotated[str | None, typer.Option(help="on this dataset ref")] = None,
    job: Annotated[str | None, typer.Option(help="made by this job")] = None,
    state: Annotated[str | None, typer.Option(help="Completed, Terminated, TimedOut")] = None,
    creator: Annotated[str | None, typer.Option(help="made by this user")] = None,
    since: Annotated[str | None, typer.Option(help="made at or after, e.g. 2026-11-01")] = None,
    metric: Annotated[
        list[str] | None, typer.Option(help='condition, e.g. "accuracy>0.9" (repeatable)')
    ] = None,
    cursor: Annotated[str | None, typer.Option(help="the last row's startTime|id")] = None,
    fresh: Annotated[
        bool, typer.Option("--fresh", help="hide ones whose model/dataset branch moved on")
    ] = False,
    output: Output = "table",
) -> None:
    """List evaluations, newest first, narrowed by the filters."""
    render.check_output(output)
    given = {
        "model": model,
        "dataset": dataset,
        "job": job,
        "state": state,
        "creator": creator,
        "since": since,
        "metric": metric or None,
        "cursor": cursor,
        "fresh": fresh or None,
    }
    filters = {k: v for k, v in given.items() if v is not None}
    rows = hub.list_evaluation(ref, all_commits=all_commits, limit=limit, **filters)
    if output == "json":
        render.as_json(rows)
        return
    if not rows:
        render.err.print("No evaluations.")
    for i, ev in enumerate(rows):
        if i:
            render.out.print()
        render.evaluation_block(ev)


@get.command("evaluation")
def get_evaluation(evaluation_id: str, output: Output = "table") -> None:
    """Show one evaluation."""
    render.check_output(output)
    ev = hub.get_evaluation(evaluation_id)
    if output == "json":
        render.as_json(ev)
    else:
        render.evaluation_block(ev)


@delete.command("evaluation")
def delete_evaluation(evaluation_id: str) -> None:
    """Delete an evaluation."""
    hub.delete_evaluation(evaluation_id=evaluation_id)


@app.command("samples")
def samples(
    evaluation_id: str,
    where: Annotated[str | None, typer.Option(help='SQL filter, e.g. "correct = false"')] = None,
    order_by: Annotated[str | None, typer.Option(help='e.g. "confidence DESC"')] = None,
    limit: Annotated[int, typer.Option(help="at most this many rows")] = 20,
    offset: Annotated[int, typer.Option(help="skip this many rows")] = 0,
    output: Annotated[str, typer.Option("--output", "-o", help="table, json or csv")] = "table",
) -> None:
    """Show an evaluation's per-sample rows, filtered and sorted on the server."""
    if output not in ("table", "json", "csv"):
        raise InvalidInput(f"unknown --output {output!r}: use table, json or csv")
    page = hub.client().get(
        f"/evaluations/{evaluation_id}/samples",
        where=where,
        order_by=order_by,
        limit=limit,
        offset=offset,
    )
    if output == "json":
        render.as_json(page["rows"])
    elif output == "csv":
        writer = csv.DictWriter(sys.stdout, fieldnames=page["columns"])
        writer.writeheader()
        writer.writerows(page["rows"])
    else:
        render.table(page["rows"], [(c.upper(), c) for c in page["columns"]])
        render.err.print(f"{len(page['rows'])} of {page['total']} matching rows")


@app.command("download-artifact")
def download_artifact(
    evaluation_id: str,
    name: str,
    output: Annotated[Path, typer.Option("--output", "-o", help="file to write")],
) -> None:
    """Save one of an evaluation's artifacts (e.g. confusion_matrix.png)."""
    hub.download_artifact(evaluation_id, name, output)
    render.err.print(f"Wrote {output}")
