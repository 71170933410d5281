"""The FastAPI application: one per instance, embedded in a CLI process or served."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Protocol

import anyio.to_thread
from fastapi import APIRouter, Depends, FastAPI
from sqlalchemy.exc import IntegrityError

from assay import __version__
from assay.api import errors
from assay.api.deps import require_rule, rule
from assay.api.idempotency import Idempotency
from assay.api.limits import BodyLimit
from assay.api.routes import (
    assets,
    blobs,
    compare,
    console,
    endpoints,
    evaluations,
    folders,
    jobs,
    logstream,
    pools,
    previews,
    runtimes,
    users,
)
from assay.api.routes import (
    settings as user_settings,
)
from assay.core.config import Settings
from assay.db import migrate
from assay.db.session import Database
from assay.services import pools as pool_service
from assay.services.context import Instance
from assay.storage.blobs import BlobStore

API_PREFIX = "/api/v1"
# Worker threads for the sync routes: more than the concurrent requests expected (the load
# test runs 50 clients), so a request holding a session always finds a thread.
THREADS = 256


def open_state(settings: Settings, *, local_user: str | None) -> Instance:
    """Open the database (migrating it) and the blob store of an instance."""
    settings.home.mkdir(parents=True, exist_ok=True, mode=0o700)
    db = Database(settings.resolved_database_url)
    migrate.upgrade(db, settings.home)
    _private(settings.home / "assay.db")
    try:
        with db.session() as session:
            pool_service.ensure_default(session)
    except IntegrityError:
        pass  # servers starting together on one PostgreSQL database: another one made it
    return Instance(
        settings=settings,
        db=db,
        store=BlobStore(settings.resolved_storage_url),
        local_user=local_user,
    )


class Service(Protocol):
    """Something that runs beside the API for the app's lifetime (the scheduler)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


def _private(path: Path) -> None:
    """The database holds hashed keys and everyone's metadata: its owner alone reads it."""
    if path.exists() and path.stat().st_mode & 0o077:
        path.chmod(0o600)


def create_app(state: Instance, services: Sequence[Service] = ()) -> FastAPI:
    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        # A request holds its database session (on SQLite, the write lock) from the
        # authentication dependency to the end of its handler, two hops in the thread pool:
        # with anyio's default 40 threads, 50 clients could hold every thread waiting for a
        # connection or the lock, and the holder never get one (found by the load test).
        limiter = anyio.to_thread.current_default_thread_limiter()
        limiter.total_tokens = max(limiter.total_tokens, THREADS)
        # Started and stopped with the server itself, so a SIGTERM that ends uvicorn also
        # stops the scheduler cleanly (its running tasks are queued again, not orphaned).
        for service in services:
            service.start()
        try:
            yield
        finally:
            for service in services:
                service.stop()

    app = FastAPI(
        title="Assay",
        version=__version__,
        description="Self-hosted model evaluation platform",
        lifespan=lifespan,
    )
    app.state.assay = state
    errors.install(app)
    api = APIRouter(prefix=API_PREFIX, dependencies=[Depends(require_rule)])
    for module in (
        users,
        folders,
        assets,
        blobs,
        evaluations,
        jobs,
        logstream,
        pools,
        previews,
        endpoints,
        runtimes,
        compare,
    ):
        api.include_router(module.router)
    api.include_router(user_settings.router)

    @api.get("/health", openapi_extra=rule("public"), tags=["meta"])
    def health() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    app.include_router(api)
    app.include_router(console.router())  # last: its catch-all serves the web console
    # Inside the body limit: a create's body is bounded before it is read and hashed.
    app.add_middleware(Idempotency, schema=app.openapi)
    app.add_middleware(BodyLimit, max_bytes=state.settings.max_json_bytes)
    return app
