"""Runtimes: versioned environments (requirements + Python) that job versions run in."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from assay import hub
from assay.cli import render
from assay.cli.app import OUTPUT_HELP, create, delete, ls
from assay.core.errors import InvalidInput

Output = Annotated[str, typer.Option("--output", "-o", help=OUTPUT_HELP)]


@create.command("runtime")
def create_runtime(
    name: str,
    requirements: Annotated[
        Path, typer.Option(help="requirements file (pip/uv syntax) of the packages to add")
    ],
    python: Annotated[
        str | None, typer.Option(help="Python version, e.g. 3.11 (default: the server's)")
    ] = None,
    output: Output = "table",
) -> None:
    """Add a version of a runtime (a new runtime starts at version 1); jobs name it with
    --runtime NAME or NAME:VERSION."""
    render.check_output(output)
    if not requirements.is_file():
        raise InvalidInput(f"--requirements {requirements}: no such file")
    data = hub.create_runtime(name, requirements, python=python)
    if output == "json":
        render.as_json(data)
        return
    what = "Created" if data["created"] else "Unchanged (same as the latest version):"
    render.err.print(f"{what} runtime {data['ref']}")


@ls.command("runtime")
def ls_runtime(output: Output = "table") -> None:
    """List your runtimes and their versions."""
    rows = hub.list_runtimes()
    if render.check_output(output) == "json":
        render.as_json(rows)
        return
    flat = [
        {
            "ref": v["ref"],
            "python": v["python"] or "server's",
            "packages": ", ".join(
                line.strip()
                for line in v["requirements"].splitlines()
                if line.strip() and not line.lstrip().startswith(("#", "-"))
            )[:80],
            "created": v["createdAt"][:19],
        }
        for r in rows
        for v in r["versions"]
    ]
    render.table(
        flat,
        [
            ("RUNTIME", "ref"),
            ("PYTHON", "python"),
            ("PACKAGES", "packages"),
            ("CREATED", "created"),
        ],
    )


@delete.command("runtime")
def delete_runtime(name: str) -> None:
    """Delete a runtime that no job version runs in."""
    hub.delete_runtime(name)
    render.err.print(f"Deleted runtime {name}")
