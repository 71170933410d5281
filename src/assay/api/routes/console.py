"""The web console: the single-page app built from ``web/`` into ``web/dist``.

Served at ``/`` by the same app as the API it calls: files of the build as they are (with
their types), every other path that is not the API the app's ``index.html`` (the app routes
in the browser). Without a build, ``/`` says how to make one instead of failing.
"""

from __future__ import annotations

import mimetypes
from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse, PlainTextResponse, Response
from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope

from assay.api.deps import rule
from assay.core.errors import NotFound

DIST = Path(__file__).resolve().parents[4] / "web" / "dist"
NO_BUILD = (
    "The Assay web console is not built. Run `make install` in the source checkout "
    "(it runs `npm ci && npm run build` in web/), then restart `assay server`.\n"
    "The REST API is at /api/v1 (documented at /docs).\n"
)
_RESERVED = ("/api/", "/docs", "/redoc", "/openapi.json")

mimetypes.add_type("text/javascript", ".js")
mimetypes.add_type("text/css", ".css")
mimetypes.add_type("image/svg+xml", ".svg")


class _ConsoleRoute(APIRoute):
    """Never matches the API or its docs, so routes added after the console's catch-all
    (and unknown API paths, which get the API's JSON 404) are not shadowed by it."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        path = scope.get("path", "")
        if path == "/api" or path.startswith(_RESERVED):
            return Match.NONE, {}
        return super().matches(scope)


def router(dist: Path = DIST) -> APIRouter:
    r = APIRouter(include_in_schema=False, route_class=_ConsoleRoute)
    root = dist.resolve()

    def index() -> Response:
        page = root / "index.html"
        if not page.is_file():
            return PlainTextResponse(NO_BUILD, status_code=200)
        return FileResponse(page, media_type="text/html", headers={"Cache-Control": "no-cache"})

    @r.get("/", openapi_extra=rule("public"))
    def home() -> Response:
        return index()

    @r.get("/{path:path}", openapi_extra=rule("public"))
    def spa(path: str) -> Response:
        candidate = (root / path).resolve()
        if candidate.is_relative_to(root) and candidate.is_file():
            media_type, _ = mimetypes.guess_type(candidate.name)
            immutable = candidate.parent.name == "assets"  # content-hashed names from Vite
            return FileResponse(
                candidate,
                media_type=media_type or "application/octet-stream",
                headers={
                    "Cache-Control": "public, max-age=31536000, immutable"
                    if immutable
                    else "no-cache",
                    "X-Content-Type-Options": "nosniff",
                },
            )
        if "." in path.rsplit("/", 1)[-1]:
            raise NotFound(f"no such file: /{path}")
        return index()

    return r
