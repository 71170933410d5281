"""Logging in and out, users, and serving the API."""

from __future__ import annotations

import os
from typing import Annotated

import typer

from assay import hub
from assay.cli import render
from assay.cli.app import OUTPUT_HELP, app, user
from assay.core.config import get_settings
from assay.sdk.client import Client, Credentials, save_credentials

Output = Annotated[str, typer.Option("--output", "-o", help=OUTPUT_HELP)]


@app.command("login")
def login(
    host: Annotated[str, typer.Option(help="server URL, e.g. http://127.0.0.1:8080")],
    api_key: Annotated[str, typer.Option("--api-key", help="your API key", envvar="ASSAY_API_KEY")],
) -> None:
    """Store credentials for a server; later commands use it."""
    client = Client(host, api_key, source="cli")
    me = client.get("/users/me")
    save_credentials(client.settings, Credentials(host.rstrip("/"), api_key))
    render.err.print(f"Logged in to {host} as user {me['name']}")


@app.command("logout")
def logout() -> None:
    """Forget stored credentials; commands then use the embedded instance."""
    save_credentials(get_settings(), None)
    render.err.print(f"Logged out; using the embedded instance in {get_settings().home}")


@app.command("whoami")
def whoami(output: Output = "table") -> None:
    """Show the user and instance commands act on."""
    me = hub.whoami()
    if render.check_output(output) == "json":
        render.as_json(me)
    else:
        where = hub.client().host or f"embedded instance {get_settings().home}"
        render.out.print(f"{me['name']}{' (admin)' if me['isAdmin'] else ''} on {where}")


@user.command("create")
def user_create(
    name: str,
    admin: Annotated[bool, typer.Option("--admin", help="make the user an admin")] = False,
    output: Output = "table",
) -> None:
    """Create a user and print its API key (shown only this once)."""
    created = hub.create_user(name, admin=admin)
    if render.check_output(output) == "json":
        render.as_json(created)
    else:
        render.err.print(f"Created user {created['name']}; API key (shown once):")
        render.out.print(created["apiKey"])


@user.command("ls")
def user_ls(output: Output = "table") -> None:
    """List users (admin)."""
    rows = hub.client().get("/users")
    if render.check_output(output) == "json":
        render.as_json(rows)
    else:
        render.table(rows, [("NAME", "name"), ("ADMIN", "isAdmin"), ("CREATED", "createdAt")])


@app.command("server")
def server(
    host: Annotated[str, typer.Option(help="interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8080,
    local: Annotated[
        bool,
        typer.Option(
            "--local",
            help="serve as the local user: requests without an API key (the web console "
            "included) act as $ASSAY_LOCAL_USER, as in embedded mode; for your own machine only",
        ),
    ] = False,
) -> None:
    """Serve the REST API (OpenAPI at /docs) and the web console (at /) on $ASSAY_HOME."""
    import uvicorn

    from assay.api.app import create_app, open_state
    from assay.scheduler.scheduler import Scheduler
    from assay.services.bootstrap import ensure_admin
    from assay.worker.sandbox import not_dumpable

    settings = get_settings()
    state = open_state(settings, local_user=settings.local_user if local else None)
    key = ensure_admin(state)
    if key is not None:
        path = settings.admin_key_path
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key + "\n")
        render.err.print(f"Created user admin. Its API key, shown once, is also in {path}:")
        render.out.print(key, markup=False)
    render.err.print(
        f"Serving Assay on http://{host}:{port} (console at /, API docs at /docs), "
        f"home {settings.home}"
    )
    if local:
        render.err.print(
            f"--local: requests without an API key act as user {settings.local_user}"
            + ("" if host in ("127.0.0.1", "localhost", "::1") else f" (listening on {host}!)")
        )
    # The scheduler runs every queued version, ones left behind by an earlier run included.
    app = create_app(state, services=[Scheduler(state)])
    not_dumpable()  # keys and database credentials live in this process
    uvicorn.run(app, host=host, port=port, log_level="info")
