"""LLM evaluation: inference endpoints."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated, Any

import typer

from assay import hub
from assay.cli import render
from assay.cli.app import OUTPUT_HELP, app, create, delete, ls
from assay.core.errors import InvalidInput

Output = Annotated[str, typer.Option("--output", "-o", help=OUTPUT_HELP)]


@create.command("endpoint")
def create_endpoint(
    name: str,
    base_url: Annotated[str, typer.Option(help="API root, e.g. http://127.0.0.1:8000/v1")],
    model: Annotated[str, typer.Option(help="the model name the endpoint serves")],
    api_key_env: Annotated[
        str | None,
        typer.Option(help="environment variable holding the API key (sent once, kept server-side)"),
    ] = None,
    max_concurrency: Annotated[int, typer.Option(help="requests in flight at most")] = 32,
    rpm: Annotated[int | None, typer.Option(help="requests per minute at most")] = None,
    tpm: Annotated[int | None, typer.Option(help="tokens per minute at most")] = None,
    price_input: Annotated[float, typer.Option(help="USD per 1M prompt tokens")] = 0.0,
    price_output: Annotated[float, typer.Option(help="USD per 1M completion tokens")] = 0.0,
    batch: Annotated[bool, typer.Option("--batch", help="supports the OpenAI Batch API")] = False,
    model_ref: Annotated[str | None, typer.Option(help="the model asset commit it serves")] = None,
) -> None:
    """Register an OpenAI-compatible inference endpoint for llm jobs."""
    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env)
        if not api_key:
            raise InvalidInput(f"--api-key-env {api_key_env}: that environment variable is empty")
    hub.create_endpoint(
        name,
        base_url=base_url,
        model=model,
        api_key=api_key,
        max_concurrency=max_concurrency,
        rpm=rpm,
        tpm=tpm,
        price_input=price_input,
        price_output=price_output,
        batch=batch,
        model_ref=model_ref,
    )
    render.err.print(f"Created endpoint {name}")


@ls.command("endpoint")
def ls_endpoint(output: Output = "table") -> None:
    """List your inference endpoints (keys are never shown)."""
    rows = hub.list_endpoints()
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    for r in rows:
        r["key"] = "set" if r["hasApiKey"] else "-"
        r["limits"] = f"{r['maxConcurrency']} / {r['rpm'] or '-'} rpm / {r['tpm'] or '-'} tpm"
        r["prices"] = f"{r['priceInput']:g} / {r['priceOutput']:g}"
    render.table(
        rows,
        [
            ("NAME", "name"),
            ("MODEL", "model"),
            ("BASE URL", "baseUrl"),
            ("KEY", "key"),
            ("CONCURRENCY / RPM / TPM", "limits"),
            ("USD/1M IN / OUT", "prices"),
            ("BATCH", "batch"),
        ],
    )


@delete.command("endpoint")
def delete_endpoint(name: str) -> None:
    """Delete an endpoint (versions that used it keep their records)."""
    hub.delete_endpoint(name)
    render.err.print(f"Deleted endpoint {name}")


def print_estimate(e: dict[str, Any], output: str) -> None:
    if render.check_output(output) == "json":
        render.as_json(e)
        return
    rows = [
        ("endpoint", e["endpoint"]),
        ("turns to answer", f"{e['samples']:,}"),
        ("input tokens", f"{e['inputTokens']:,}  ({e['tokenizer']})"),
        ("output tokens", f"{e['outputTokens']:,}  ({e['outputFrom']})"),
    ]
    if "judgeEndpoint" in e:
        rows.append(
            (
                f"judge ({e['judgeEndpoint']})",
                f"{e['judgeInputTokens']:,} in, {e['judgeOutputTokens']:,} out",
            )
        )
    cost = e["cost"]
    rows.append(
        (
            "cost (USD)",
            f"{cost['total']:.4f}  (model {cost['model']:.4f}, judge {cost['judge']:.4f})",
        )
    )
    for key, value in rows:
        render.out.print(f"{key + ':':<18}{value}", highlight=False)


@app.command("estimate")
def estimate(
    endpoint: Annotated[str, typer.Option(help="the endpoint to evaluate")],
    dataset: Annotated[str, typer.Option(help="the JSONL dataset ref")],
    param: Annotated[
        list[str] | None, typer.Option("--param", "-p", help="job parameter KEY=VALUE")
    ] = None,
    output: Output = "table",
) -> None:
    """Tokens and cost of an llm job before running it."""
    from assay.cli.job_cmds import _params

    print_estimate(hub.estimate(endpoint, dataset, _params(param)), output)


@app.command("rescore")
def rescore(
    ref: Annotated[str, typer.Argument(help="JOB:VERSION whose stored replies are scored")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="changed parameter, e.g. scoring=prefix,judge"),
    ] = None,
    wait: Annotated[bool, typer.Option("--wait", help="follow the new version to its end")] = False,
    output: Output = "table",
) -> None:
    """Score an llm version's stored replies again as a new version, without asking the
    model again (judge calls are made, and cached apart from model calls)."""
    from assay.cli.job_cmds import _follow, _params, _version

    render.check_output(output)
    version = _version(ref).rescore(_params(param))
    render.err.print(f"Queued {version.ref}, re-scoring {ref}")
    if wait:
        _follow(version, output)
    elif output == "json":
        render.as_json(version.data)


@ls.command("preset")
def ls_preset(output: Output = "table") -> None:
    """The evaluation sets Assay ships: use one with --dataset preset:NAME."""
    rows = hub.list_presets()
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    render.table(
        rows,
        [("NAME", "name"), ("SAMPLES", "samples"), ("SCORING", "scoring"), ("WHAT", "description")],
    )


import_app = typer.Typer(help="Bring files you have into Assay.", no_args_is_help=True)
app.add_typer(import_app, name="import")


@import_app.command("dataset")
def import_dataset(
    ref: Annotated[str, typer.Argument(help="FOLDER/NAME of the dataset to commit to")],
    files: Annotated[list[Path], typer.Argument(help="files to convert")],
    format_: Annotated[str, typer.Option("--format", help="mmlu-csv or gsm8k-jsonl")],
) -> None:
    """Convert MMLU CSV or GSM8K JSONL files into an LLM dataset and commit it."""
    done = hub.import_dataset(ref, format_, list(files))
    render.err.print(f"Imported into {done}")
