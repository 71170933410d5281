"""Jobs, versions, tasks, logs, pools and usage."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.live import Live
from rich.spinner import Spinner

from assay import hub
from assay.cli import render
from assay.cli.app import OUTPUT_HELP, app, create, delete, get, ls
from assay.cli.eval_cmds import parse_metric
from assay.core.errors import InvalidInput, NotFound
from assay.core.refs import parse_version_ref
from assay.core.scripts import script_env
from assay.core.units import format_size
from assay.sdk.jobs import Version

Output = Annotated[str, typer.Option("--output", "-o", help=OUTPUT_HELP)]
Param = Annotated[
    list[str] | None,
    typer.Option(
        "--param", "-p", help="run parameter KEY=VALUE, passed to the script as --KEY=VALUE"
    ),
]
Pool = Annotated[str | None, typer.Option(help="resource pool")]
Runtime = Annotated[
    str | None, typer.Option(help="runtime NAME or NAME:VERSION its tasks run in (see ls runtime)")
]
Timeout = Annotated[
    int | None, typer.Option(help="seconds before the version is stopped (TimedOut); default 3600")
]
Cpu = Annotated[float | None, typer.Option(help="CPUs to hold (default 1)")]
Memory = Annotated[str | None, typer.Option(help="memory to hold and limit to, e.g. 8GiB")]
Gpu = Annotated[int | None, typer.Option(help="GPUs to hold")]
Priority = Annotated[int | None, typer.Option(help="higher runs first (default 0)")]
Wait = Annotated[bool, typer.Option("--wait", help="follow the version to its end")]


def _params(items: list[str] | None) -> dict[str, Any]:
    return dict(parse_metric(p, "parameter", "--param batch_size=64") for p in items or [])


def _resources(
    pool: str | None,
    timeout: int | None,
    cpu: float | None,
    memory: str | None,
    gpu: int | None,
    priority: int | None,
) -> dict[str, Any]:
    given = {
        "pool": pool,
        "timeout": timeout,
        "cpu": cpu,
        "memory": memory,
        "gpu": gpu,
        "priority": priority,
    }
    return {k: v for k, v in given.items() if v is not None}


def _input(ref: str | None, commit: str | None, path: str | None, sha: str | None) -> str:
    return f"{ref} @ {commit}" if ref else f"{path} (content sha256 {sha})"


def _print_version(data: dict[str, Any], output: str) -> None:
    if output == "json":
        render.as_json(data)
        return
    rows = [("VERSION", f"{data['job']}:{data['name']}"), ("STATE", data["state"])]
    if data.get("queuePosition"):
        rows.append(("QUEUE_POSITION", data["queuePosition"]))
    rows += [
        ("MESSAGE", data["message"]),
        (
            "MODEL",
            _input(data["model"], data["modelCommit"], data["modelPath"], data["modelPathSha256"]),
        ),
        (
            "DATASET",
            _input(
                data["dataset"], data["datasetCommit"], data["dataPath"], data["dataPathSha256"]
            ),
        ),
    ]
    if data.get("code"):
        rows.append(("CODE", f"{data['code']} @ {data['codeCommit']} ({data['launch']})"))
    if data.get("endpoint"):
        rows.append(("ENDPOINT", data["endpoint"]))
    if data.get("runtime"):
        rows.append(("RUNTIME", data["runtime"]))
    estimate = data.get("estimate")
    if estimate:
        rows.append(
            (
                "ESTIMATE",
                f"{estimate['inputTokens']:,} in + {estimate['outputTokens']:,} out tokens, "
                f"${estimate['cost']['total']:.4f}",
            )
        )
        m = data.get("metrics") or {}
        if "cost" in m:
            rows.append(
                (
                    "ACTUAL",
                    f"{m['tokens.prompt']:,} in + {m['tokens.completion']:,} out tokens, "
                    f"${m['cost']:.4f}",
                )
            )
    rows += [
        ("PARAMS", json.dumps(data["params"])),
        ("POOL", data["pool"]),
        (
            "RESOURCES",
            f"cpu {data['cpu']:g}, memory {format_size(data['memory'])}, "
            f"gpu {data['gpu']}, timeout {data['timeout']} s",
        ),
        ("CREATED", data["createdAt"]),
        ("STARTED", data["startedAt"] or "-"),
        ("FINISHED", data["finishedAt"] or "-"),
        (
            "USAGE",
            f"{data['usage']['cpuSeconds']} CPU-s, {data['usage']['gpuSeconds']} "
            f"GPU-s, peak {format_size(data['usage']['peakMemory'])}",
        ),
        ("EVALUATION", data["evaluationId"] or "-"),
    ]
    if data.get("workdir"):
        rows.append(("WORKDIR", data["workdir"]))
    for label, value in rows:
        render.out.print(f"{label + ':':<17}{value}", markup=False)
    if data.get("metrics"):
        partial = " (partial)" if data.get("partial") else ""
        render.out.print(f"{'METRICS' + partial + ':':<17}", end="")
        render.out.print(json.dumps(data["metrics"]), markup=False)


def _follow(version: Version, output: str) -> None:
    """Wait for the end with a live status line; print the result; exit 1 unless Completed."""
    start = time.monotonic()
    spinner = Spinner("dots", text=f"{version.ref} {version.status}")

    def update(v: Version) -> None:
        where = (
            f" (queue position {v.data['queuePosition']})" if v.data.get("queuePosition") else ""
        )
        spinner.update(text=f"{v.ref} {v.status}{where}  {time.monotonic() - start:.0f}s")

    if render.err.is_terminal:
        with Live(spinner, console=render.err, transient=True, refresh_per_second=8):
            version.wait(on_update=update)
    else:
        version.wait()
    _print_version(version.data, output)
    if version.status != "Completed":
        sys.exit(1)


@create.command("job")
def create_job(
    name: str,
    model: Annotated[str | None, typer.Option(help="model ref")] = None,
    dataset: Annotated[str | None, typer.Option(help="dataset ref")] = None,
    model_path: Annotated[
        str | None,
        typer.Option(
            help="model files at a storage location (DIR or file:// URL) instead of a ref"
        ),
    ] = None,
    data_path: Annotated[
        str | None, typer.Option(help="dataset files at a storage location instead of a ref")
    ] = None,
    type_: Annotated[str, typer.Option("--type", help="evaluation type")] = "custom",
    code: Annotated[str | None, typer.Option(help="code ref (custom jobs)")] = None,
    launch: Annotated[str | None, typer.Option(help=".py launch file in the code")] = None,
    endpoint: Annotated[
        str | None, typer.Option(help="inference endpoint evaluated (llm jobs)")
    ] = None,
    runtime: Runtime = None,
    description: Annotated[str, typer.Option(help="what the job is for")] = "",
    param: Param = None,
    pool: Pool = None,
    timeout: Timeout = None,
    cpu: Cpu = None,
    memory: Memory = None,
    gpu: Gpu = None,
    priority: Priority = None,
    debug: Annotated[bool, typer.Option("--debug", help="keep the working directory")] = False,
    max_cost: Annotated[
        float | None,
        typer.Option(help="llm: USD; refused if the estimate exceeds it, stopped on reaching it"),
    ] = None,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="llm: print the token and cost estimate only")
    ] = False,
    wait: Wait = False,
    output: Output = "table",
) -> None:
    """Create an evaluation job and queue its first version, V0001."""
    render.check_output(output)
    params = _params(param)
    if max_cost is not None:
        params["max_cost"] = max_cost
    if dry_run:
        if not endpoint or not dataset:
            raise InvalidInput("--dry-run estimates an llm job: give --endpoint and --dataset")
        from assay.cli.llm_cmds import print_estimate

        print_estimate(hub.estimate(endpoint, dataset, params), output)
        return
    job = hub.create_job(
        name=name,
        model=model,
        dataset=dataset,
        type=type_,
        code=code,
        launch=launch,
        endpoint=endpoint,
        runtime=runtime,
        params=params,
        description=description,
        debug=debug,
        **({"model_path": model_path} if model_path else {}),
        **({"data_path": data_path} if data_path else {}),
        **_resources(pool, timeout, cpu, memory, gpu, priority),
    )
    version = job.get_version("V0001")
    if wait:
        _follow(version, output)
    elif output == "json":
        render.as_json(version.data)


@create.command("version")
def create_version(
    job: str,
    param: Param = None,
    model: Annotated[str | None, typer.Option(help="model ref")] = None,
    dataset: Annotated[str | None, typer.Option(help="dataset ref")] = None,
    model_path: Annotated[str | None, typer.Option(help="model storage location")] = None,
    data_path: Annotated[str | None, typer.Option(help="dataset storage location")] = None,
    code: Annotated[str | None, typer.Option(help="code ref")] = None,
    launch: Annotated[str | None, typer.Option(help="launch file")] = None,
    endpoint: Annotated[str | None, typer.Option(help="endpoint evaluated (llm jobs)")] = None,
    runtime: Runtime = None,
    pool: Pool = None,
    timeout: Timeout = None,
    cpu: Cpu = None,
    memory: Memory = None,
    gpu: Gpu = None,
    priority: Priority = None,
    wait: Wait = False,
    output: Output = "table",
) -> None:
    """Queue a new version with the latest version's settings and these overrides."""
    render.check_output(output)
    overrides = {
        k: v
        for k, v in {
            "model": model,
            "dataset": dataset,
            "model_path": model_path,
            "data_path": data_path,
            "code": code,
            "launch": launch,
            "endpoint": endpoint,
            "runtime": runtime,
        }.items()
        if v is not None
    }
    version = hub.get_job(job).create_version(
        params=_params(param), **overrides, **_resources(pool, timeout, cpu, memory, gpu, priority)
    )
    render.err.print(f"Queued {version.ref}")
    if wait:
        _follow(version, output)
    elif output == "json":
        render.as_json(version.data)


@ls.command("job")
def ls_job(output: Output = "table") -> None:
    """List your jobs with their latest version."""
    rows = hub.list_jobs()
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    flat = [
        {
            "name": r["name"],
            "type": r["type"],
            "latest": r["latest"]["name"] if r["latest"] else None,
            "state": r["latest"]["state"] if r["latest"] else None,
            "description": r["description"],
        }
        for r in rows
    ]
    render.table(
        flat,
        [
            ("NAME", "name"),
            ("TYPE", "type"),
            ("LATEST", "latest"),
            ("STATE", "state"),
            ("DESCRIPTION", "description"),
        ],
    )


@ls.command("version")
def ls_version(job: str, output: Output = "table") -> None:
    """List a job's versions, newest first."""
    rows = [v.data for v in hub.get_job(job).versions()]
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    for r in rows:
        r["metricsText"] = json.dumps(r["metrics"]) if r["metrics"] else None
    render.table(
        rows,
        [
            ("VERSION", "name"),
            ("STATE", "state"),
            ("POOL", "pool"),
            ("CREATED", "createdAt"),
            ("METRICS", "metricsText"),
            ("MESSAGE", "message"),
        ],
    )


@get.command("version")
def get_version(
    ref: Annotated[str, typer.Argument(help="JOB:VERSION")], output: Output = "table"
) -> None:
    """Show a version: state, queue position, inputs, parameters, usage, metrics."""
    _print_version(_version(ref).data, render.check_output(output))


def _version(ref: str) -> Version:
    parse_version_ref(ref)
    return hub.get_version(ref)


@ls.command("task")
def ls_task(
    ref: Annotated[str, typer.Argument(help="JOB:VERSION")], output: Output = "table"
) -> None:
    """List a version's tasks."""
    rows = _version(ref).tasks()
    if render.check_output(output) == "json":
        render.as_json(rows)
    else:
        render.table(
            rows,
            [
                ("TASK", "index"),
                ("STATE", "state"),
                ("ATTEMPTS", "attempts"),
                ("EXIT", "exitCode"),
                ("STARTED", "startedAt"),
                ("FINISHED", "finishedAt"),
                ("MESSAGE", "message"),
            ],
        )


@app.command("terminate")
def terminate(ref: Annotated[str, typer.Argument(help="JOB:VERSION")]) -> None:
    """Stop a version that is creating, queuing or running."""
    version = _version(ref).terminate()
    render.err.print(f"{version.ref} is {version.status}")


@app.command("wait")
def wait(ref: Annotated[str, typer.Argument(help="JOB:VERSION")], output: Output = "table") -> None:
    """Follow a version to its end (runs it here when there is no server)."""
    _follow(_version(ref), render.check_output(output))


@delete.command("version")
def delete_version(ref: Annotated[str, typer.Argument(help="JOB:VERSION")]) -> None:
    """Delete a version and its results (a running one is terminated first)."""
    _version(ref).delete()
    render.err.print(f"Deleted {ref}")


@delete.command("job")
def delete_job(name: str) -> None:
    """Delete a job with all its versions and their results."""
    hub.get_job(name).delete()
    render.err.print(f"Deleted job {name}")


@app.command("logs")
def logs(
    ref: Annotated[str, typer.Argument(help="JOB:VERSION")],
    task: Annotated[int, typer.Option(help="task index")] = 0,
    follow: Annotated[
        bool, typer.Option("--follow", "-f", help="keep printing until it ends")
    ] = False,
) -> None:
    """Print a task's log; --follow streams it live."""
    version = _version(ref)
    for chunk in version.follow_logs(task, follow=follow):
        sys.stdout.write(chunk)
        sys.stdout.flush()


@create.command("pool")
def create_pool(
    name: str,
    cpu: Annotated[
        float | None, typer.Option(help="CPUs (default: this machine's, or the Ray cluster's)")
    ] = None,
    memory: Annotated[str, typer.Option(help="memory, e.g. 8GiB")] = "0",
    gpu: Annotated[int, typer.Option(help="GPUs")] = 0,
    backend: Annotated[str, typer.Option(help="local | ray")] = "local",
    address: Annotated[
        str | None,
        typer.Option(help="ray pools: the cluster's Ray Client address, ray://HOST:10001"),
    ] = None,
) -> None:
    """Create a resource pool (admin): local processes, or tasks on a Ray cluster."""
    hub.create_pool(name, cpu, memory, gpu, backend=backend, address=address)
    render.err.print(f"Created pool {name}")


@ls.command("pool")
def ls_pool(output: Output = "table") -> None:
    """List pools: capacity, what is in use, queue length."""
    rows = hub.list_pools()
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    for r in rows:
        r["cpuText"] = f"{r['cpuUsed']:g}/{r['cpu']:g}"
        r["memText"] = f"{format_size(r['memoryUsed'])}/{format_size(r['memory'])}"
        r["gpuText"] = f"{r['gpuUsed']}/{r['gpu']}"
    render.table(
        rows,
        [
            ("NAME", "name"),
            ("BACKEND", "backend"),
            ("CPU", "cpuText"),
            ("MEMORY", "memText"),
            ("GPU", "gpuText"),
            ("RUNNING", "running"),
            ("QUEUED", "queued"),
        ],
    )


@app.command("usage")
def usage(output: Output = "table") -> None:
    """Resources used per job and user: CPU-seconds, GPU-seconds, peak memory."""
    rows = hub.client().get("/usage")
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    render.table(
        rows,
        [
            ("USER", "user"),
            ("JOB", "job"),
            ("VERSIONS", "versions"),
            ("CPU_S", "cpuSeconds"),
            ("GPU_S", "gpuSeconds"),
            ("PEAK_MEMORY", "peakMemory"),
        ],
    )


@app.command("debug")
def debug(
    ref: Annotated[str, typer.Argument(help="JOB:VERSION")],
    command: Annotated[
        str | None, typer.Option("--command", "-c", help="run this instead of an interactive shell")
    ] = None,
) -> None:
    """Open a shell in a --debug version's kept working directory, with its environment."""
    version = _version(ref)  # the API shows a version to its owner only
    if not version.data["debug"]:
        raise InvalidInput(f"{ref} was not created with --debug: its working directory is gone")
    workdir = Path(version.data["workdir"] or "")
    if not version.data["workdir"] or not (workdir / "code").is_dir():
        raise NotFound(
            f"the working directory of {ref} is not on this machine "
            f"({version.data['workdir'] or 'not started yet'})"
        )
    env = script_env(
        workdir,
        {
            "ASSAY_JOB": version.job,
            "ASSAY_VERSION": version.name,
            "TERM": os.environ.get("TERM", "xterm"),
        },
    )
    argv = ["/bin/sh", "-c", command] if command else [os.environ.get("SHELL", "/bin/bash")]
    render.err.print(f"Entering {workdir / 'code'} (model in ../model, data in ../data)")
    sys.exit(subprocess.call(argv, cwd=workdir / "code", env=env))
