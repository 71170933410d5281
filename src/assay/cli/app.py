"""The command tree: verbs (`create`, `ls`, `get`, `delete`) take nouns, as in seed 001."""

from __future__ import annotations

import typer

app = typer.Typer(
    name="assay",
    help="Assay: versioned models and datasets, evaluations bound to commits.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
create = typer.Typer(help="Create a folder, asset, branch, tag, evaluation.", no_args_is_help=True)
ls = typer.Typer(
    help="List folders, assets, branches, tags, commits, files, evaluations.", no_args_is_help=True
)
get = typer.Typer(help="Show one object.", no_args_is_help=True)
delete = typer.Typer(help="Delete a folder, asset, branch, tag, evaluation.", no_args_is_help=True)
user = typer.Typer(help="Manage users (admin).", no_args_is_help=True)
app.add_typer(create, name="create")
app.add_typer(ls, name="ls")
app.add_typer(get, name="get")
app.add_typer(delete, name="delete")
app.add_typer(user, name="user")

OUTPUT_HELP = "table (for people) or json (only JSON on stdout, for scripts)"
