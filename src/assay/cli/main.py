"""Entry point: run the command tree; print any AssayError as one line, no traceback."""

from __future__ import annotations

import sys

from assay.cli import (  # noqa: F401  (register commands)
    account_cmds,
    compare_cmds,
    eval_cmds,
    hub_cmds,
    job_cmds,
    llm_cmds,
    runtime_cmds,
)
from assay.cli.app import app
from assay.core.errors import AssayError


def main() -> None:
    from assay import hub
    from assay.sdk.client import Client

    # Requests from here are marked as made by the CLI; the client starts lazily.
    hub._client_factory = lambda: Client(source="cli")
    try:
        app()
    except AssayError as exc:
        from rich.markup import escape

        from assay.cli.render import err

        err.print(f"[red]Error:[/red] {escape(exc.message)}", highlight=False, soft_wrap=True)
        sys.exit(exc.exit_code)
