"""The embedded instance: the real FastAPI app served on a private Unix socket in a thread.

Embedded mode must behave exactly like a remote server (one code path), and must stream
multi-GB files without holding them in memory. httpx's in-process ASGI transport buffers whole
bodies, so instead the app runs under uvicorn on a socket in a fresh 0700 directory that only
this user can reach, and the SDK talks real HTTP to it.
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
import threading
import time

import uvicorn

from assay.core.config import Settings
from assay.core.errors import AssayError
from assay.scheduler.scheduler import Scheduler

_lock = threading.Lock()
_servers: dict[str, EmbeddedServer] = {}


class EmbeddedServer:
    def __init__(self, settings: Settings) -> None:
        from assay.api.app import create_app, open_state

        self.state = open_state(settings, local_user=settings.local_user)
        self.scheduler: Scheduler | None = None
        self._dir = tempfile.mkdtemp(prefix="assay-")
        self.socket_path = os.path.join(self._dir, "api.sock")
        config = uvicorn.Config(
            create_app(self.state),
            uds=self.socket_path,
            loop="asyncio",
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_graceful_shutdown=5,
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, name="assay-embedded", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + 30
        while not self._server.started:
            if not self._thread.is_alive() or time.monotonic() > deadline:
                raise AssayError("the embedded Assay instance failed to start")
            time.sleep(0.005)

    def watch(self, version_id: str) -> None:
        """Run the scheduler in this process for ``version_id`` (embedded `--wait`): with no
        server, the process that waits is the one that runs the version."""
        with _lock:
            if self.scheduler is None:
                self.scheduler = Scheduler(self.state, only={version_id})
                self.scheduler.start()
            else:
                assert self.scheduler.only is not None
                self.scheduler.only.add(version_id)

    def stop(self) -> None:
        if self.scheduler is not None:
            self.scheduler.stop()
            self.scheduler = None
        self._server.should_exit = True
        self._thread.join(timeout=10)
        self.state.db.dispose()
        shutil.rmtree(self._dir, ignore_errors=True)


def server_for(settings: Settings) -> EmbeddedServer:
    """The process's embedded server for ``settings.home``, started on first use."""
    key = str(settings.home.resolve())
    with _lock:
        server = _servers.get(key)
        if server is None:
            server = _servers[key] = EmbeddedServer(settings)
            atexit.register(server.stop)
        return server


def stop_all() -> None:
    """Stop every embedded server of this process (tests switch homes between cases)."""
    with _lock:
        servers = list(_servers.values())
        _servers.clear()
    for server in servers:
        atexit.unregister(server.stop)
        server.stop()
