"""Ray backend: a pool's tasks run as Ray tasks on a Ray cluster the server reaches as a Ray
Client (``ray://HOST:10001``); the server never runs inside the cluster.

How a task flows:

- ``start`` submits ``_execute`` with the version's CPU/GPU/memory request, ``max_retries=0``
  (Ray never retries by itself: a lost task comes back to the scheduler, whose retry rules
  decide) and the ``SPREAD`` strategy (shards of one version go to different nodes).
- On the node, ``_execute`` runs the very same worker (``python -m assay.worker SPEC``) in a
  temporary directory, in a process group of its own watched by a tiny guard process: when
  the Ray worker process dies (``ray.cancel(force=True)``, a crash, a lost raylet) the guard
  kills the whole group, so no script outlives its task.
- Logs: the task sends its worker's output in chunks to a log-sink actor (no CPU, pinned to
  the head node); the backend drains it on each poll and appends to the task's local log
  file, which ``assay logs`` reads as for a local task.
- Runtimes: a version's runtime reaches the node as the Ray task's own ``runtime_env`` (Ray's
  ``uv`` field: the runtime's requirements lines). Each node's Ray agent builds it once per
  runtime version and caches it (a copy of the node's Python environment plus the
  requirements, so Assay stays importable), the task's worker then runs in it and builds
  nothing more. A runtime that does not install ends Ray's ``RuntimeEnvSetupError``: the
  version fails with the installer's message, not retried. A runtime for another Python than
  the cluster's (Ray Client insists the server's and the cluster's match) cannot be a Ray
  environment: the node's worker builds it with uv in a per-node cache instead, as the local
  backend does.
- Results: when the worker ends, the task returns its exit code and a tar of its output
  directory; the backend unpacks it into the task's work directory on the server, where the
  scheduler reads results exactly as for a local task (shard outputs then go to storage).
- A Ray system failure (worker crashed, node died, owner died, object lost) reads as a worker
  killed by SIGKILL: the scheduler retries the task while attempts remain.
"""

from __future__ import annotations

import contextlib
import io
import json
import logging
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from assay.backends.base import Handle
from assay.core.errors import InvalidInput
from assay.worker.spec import RESULT_FILE, TaskSpec

ADDRESS = re.compile(r"^(?:ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$")
LOG_FLUSH = 0.25  # seconds between log chunks sent by a task
DRAIN_EVERY = 0.3  # seconds between the backend's reads of the log sink
CONNECT_TRIES = 3
log = logging.getLogger("assay.ray")
# Exit codes the backend reports for what Ray tells.
LOST = -int(signal.SIGKILL)  # the worker or its node was lost: retried
CANCELLED = -int(signal.SIGTERM)
FAILED = 70  # the Ray task itself raised (EX_SOFTWARE): not retried
BAD_RUNTIME = 78  # the runtime's environment did not install (EX_CONFIG), as the worker's
TAIL = 3000  # characters of the installer's output kept in a version's message

_GUARD = (
    "import os, shutil, sys\n"
    # Not a child of the Ray worker, which Ray kills along with the worker itself.
    "if os.fork():\n    os._exit(0)\n"
    "sys.stdin.buffer.read()\n"  # EOF: the Ray worker that started the task is gone
    "try:\n    os.killpg(int(sys.argv[1]), 9)\nexcept OSError:\n    pass\n"
    "shutil.rmtree(sys.argv[2], ignore_errors=True)\n"
)


def normalise_address(address: str | None) -> str:
    """``ray://host:port`` from ``ray://host:port`` or ``host:port``; a clear error otherwise."""
    if not address:
        raise InvalidInput("a ray pool needs the cluster's address: --address ray://HOST:10001")
    m = ADDRESS.match(address.strip())
    if m is None or not 0 < int(m.group(2)) < 65536:
        raise InvalidInput(
            f"bad Ray address {address!r}: expected ray://HOST:PORT or HOST:PORT "
            "(the Ray Client port of the head node, 10001 by default)"
        )
    return f"ray://{m.group(1)}:{int(m.group(2))}"


def cluster_cpus(address: str) -> float:
    """The CPUs of the Ray cluster at ``address`` (a pool's default capacity)."""
    backend = RayBackend(address)
    try:
        import ray

        with backend._connect():
            return float(ray.cluster_resources().get("CPU", 0.0))  # type: ignore[no-untyped-call]
    finally:
        backend.close()


class _LogSink:
    """An actor holding log chunks per task until the backend takes them."""

    def __init__(self) -> None:
        self._chunks: dict[str, list[bytes]] = {}

    def append(self, key: str, data: bytes) -> None:
        self._chunks.setdefault(key, []).append(data)

    def take(self, keys: list[str]) -> dict[str, bytes]:
        return {k: b"".join(self._chunks.pop(k)) for k in keys if k in self._chunks}


def _execute(spec: dict[str, Any], key: str, sink: Any) -> tuple[int, bytes, str]:
    """Run one task's worker on this node; returns (exit code, tar of its output, node)."""
    import ray

    node = ray.get_runtime_context().get_node_id()
    work = Path(tempfile.mkdtemp(prefix="assay-ray-"))
    sent: list[Any] = []

    def send(data: bytes) -> None:
        if data:
            sent.append(sink.append.remote(key, data))
            del sent[:-1]

    send(f"[assay] on Ray node {node} ({socket.gethostname()}), in {work}\n".encode())
    spec = {**spec, "workdir": str(work)}
    if spec.get("runtime") and not spec["runtime"].get("provided"):
        # Not a Ray runtime_env (another Python): the worker builds it once per node.
        spec["runtime_cache"] = os.path.join(tempfile.gettempdir(), "assay-runtimes")
    spec_path = work / "spec.json"
    fd = os.open(spec_path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(spec, f)
    env = {
        "PATH": os.environ.get("PATH", os.defpath),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "HOME": str(work),
    }
    proc = subprocess.Popen(
        [sys.executable, "-m", "assay.worker", str(spec_path)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        stdin=subprocess.DEVNULL,
        env=env,
        cwd=work,
        start_new_session=True,
    )
    guard_in, guard_out = os.pipe()
    guard = subprocess.Popen(
        [sys.executable, "-c", _GUARD, str(proc.pid), str(work)],
        stdin=guard_in,
        start_new_session=True,
        env={"PATH": env["PATH"]},
    )
    os.close(guard_in)
    try:
        assert proc.stdout is not None
        fd = proc.stdout.fileno()
        buf = bytearray()
        last = time.monotonic()
        while True:
            readable, _, _ = select.select([fd], [], [], LOG_FLUSH)
            chunk = os.read(fd, 65536) if readable else b""
            buf += chunk
            done = bool(readable) and not chunk
            if buf and (done or len(buf) > 65536 or time.monotonic() - last >= LOG_FLUSH):
                send(bytes(buf))
                buf.clear()
                last = time.monotonic()
            if done:
                break
        code = proc.wait()
        send(f"[assay] worker exited with code {code}\n".encode())
        ray.get(sent)  # the log is complete before the result is
        out = io.BytesIO()
        with tarfile.open(fileobj=out, mode="w:gz") as tar:
            if (work / "output").is_dir():
                tar.add(work / "output", arcname=".")
        return code, out.getvalue(), node
    finally:
        os.close(guard_out)  # the guard kills the worker's group and removes its directory
        guard.wait()
        shutil.rmtree(work, ignore_errors=True)


def runtime_env(runtime: dict[str, Any] | None) -> dict[str, Any] | None:
    """The Ray ``runtime_env`` of a runtime version; None where Ray cannot provide it (no
    runtime, or another Python than the cluster's)."""
    if runtime is None:
        return None
    python = runtime.get("python")
    if python and python != f"{sys.version_info[0]}.{sys.version_info[1]}":
        return None
    lines = [line for line in str(runtime["requirements"]).splitlines() if line.strip()]
    # Ray writes the lines back into a requirements file for ``uv pip install -r``, so options
    # (--index-url, --find-links, --no-index) keep working; its URI is a hash of this dict,
    # so each runtime version is one environment per node.
    return {"uv": {"packages": lines}}


def setup_failure(runtime: dict[str, Any], error: Exception) -> str:
    """A version's message for a runtime_env that Ray could not set up: the installer's own
    output where Ray's report carries it (``Last N lines of stdout:``), else Ray's last line."""
    text = str(error)
    m = re.search(r"Last \d+ lines of stdout:\n(.*)", text, re.S)
    if m:
        said = "\n".join(line.strip() for line in m.group(1).splitlines() if line.strip())
        what = "installing the requirements failed"
    else:
        said = next((ln for ln in reversed(text.splitlines()) if ln.strip()), text).strip()
        what = "Ray could not set up its environment"
    return f"runtime {runtime['ref']}: {what}: {said[-TAIL:]}"


@dataclass
class _Task:
    ref: Any
    log_path: Path
    output: Path
    runtime: dict[str, Any] | None = None


class RayBackend:
    """Tasks on the Ray cluster at ``address``, reached as a Ray Client."""

    name = "ray"

    def __init__(self, address: str) -> None:
        self.address = normalise_address(address)
        self._ctx: Any = None
        self._sink: Any = None
        self._remote: Any = None
        self._tasks: dict[str, _Task] = {}
        self._lock = threading.RLock()
        self._drained = 0.0

    # ---- connection ------------------------------------------------------------------------

    def _connect(self) -> Any:
        if self._ctx is not None:
            return self._ctx
        import ray

        error: Exception | None = None
        for attempt in range(CONNECT_TRIES):
            try:
                ctx = ray.init(
                    self.address,
                    allow_multiple=True,
                    namespace="assay",
                    log_to_driver=False,
                    logging_level=logging.WARNING,
                )
                break
            except (ConnectionError, OSError, RuntimeError) as exc:
                error = exc
                time.sleep(1 + attempt)
        else:
            raise InvalidInput(f"cannot reach the Ray cluster at {self.address}: {error}")
        with ctx:
            self._sink = (
                ray.remote(_LogSink)
                .options(
                    name=f"assay-logs-{uuid.uuid4().hex[:12]}",
                    num_cpus=0,
                    resources={"node:__internal_head__": 0.001},
                    max_restarts=0,
                )
                .remote()
            )
            self._remote = ray.remote(_execute)
        self._ctx = ctx
        return ctx

    def close(self) -> None:
        with self._lock:
            if self._ctx is not None:
                with contextlib.suppress(Exception):
                    self._ctx.disconnect()
            self._ctx = self._sink = self._remote = None

    # ---- the Backend protocol ----------------------------------------------------------------

    def start(self, spec: TaskSpec, spec_path: Path, log_path: Path) -> Handle:
        output = Path(spec.workdir) / "output"
        output.mkdir(parents=True, exist_ok=True)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        key = uuid.uuid4().hex
        task_spec = spec.to_dict()
        env = runtime_env(spec.runtime)
        if env is not None and spec.runtime is not None:  # the worker must not build it again
            task_spec["runtime"] = {**spec.runtime, "provided": True}
            said = f"[assay] runtime {spec.runtime['ref']} is this task's Ray runtime_env\n"
            _append(log_path, said.encode())
        with self._lock, self._connect():
            ref = self._remote.options(
                num_cpus=spec.cpus,
                num_gpus=spec.gpus,
                memory=spec.memory or None,
                max_retries=0,
                retry_exceptions=False,
                scheduling_strategy="SPREAD",
                name=f"assay-{spec.env.get('ASSAY_JOB', 'task')}",
                **({"runtime_env": env} if env is not None else {}),
            ).remote(task_spec, key, self._sink)
            self._tasks[key] = _Task(ref, log_path, output, spec.runtime)
        return Handle(pid=0, host=f"ray:{self.address}", id=key)

    def poll(self, handle: Handle) -> int | None:
        import ray
        from ray import exceptions as rex

        with self._lock:
            task = self._tasks.get(handle.id)
            if task is None:
                return LOST
            try:
                with self._connect():
                    ready, _ = ray.wait([task.ref], timeout=0)
                    if not ready:
                        if time.monotonic() - self._drained > DRAIN_EVERY:
                            self._drain()
                        return None
                    try:
                        got: tuple[int, bytes, str] = ray.get(task.ref)
                        code, tar = got[0], got[1]
                    except rex.TaskCancelledError:
                        code, tar = CANCELLED, b""
                    except rex.RuntimeEnvSetupError as exc:  # not retried: it would fail again
                        code, tar = BAD_RUNTIME, b""
                        _append(task.log_path, f"[assay] {exc}\n".encode())
                        message = setup_failure(task.runtime or {"ref": "?"}, exc)
                        _append(task.log_path, f"[assay] {message}\n".encode())
                        (task.output / RESULT_FILE).write_text(json.dumps({"message": message}))
                    except rex.RayTaskError as exc:  # _execute itself failed
                        code, tar = FAILED, b""
                        _append(task.log_path, f"[assay] the Ray task failed: {exc}\n".encode())
                    except rex.RayError as exc:  # worker or node lost
                        code, tar = LOST, b""
                        _append(task.log_path, f"[assay] Ray lost the task: {exc}\n".encode())
                    self._drain()
            except ConnectionError as exc:  # the cluster is gone: its tasks are lost with it
                self._ctx = None
                self._tasks.clear()  # the others read as lost on their next poll
                code, tar = LOST, b""
                _append(task.log_path, f"[assay] lost the Ray cluster: {exc}\n".encode())
            self._tasks.pop(handle.id, None)
        if tar:
            with tarfile.open(fileobj=io.BytesIO(tar), mode="r:gz") as t:
                t.extractall(task.output, filter="data")
        return code

    def _drain(self) -> None:
        import ray

        self._drained = time.monotonic()
        if not self._tasks:
            return
        try:
            chunks = ray.get(self._sink.take.remote(list(self._tasks)))
        except ray.exceptions.RayError as exc:  # the sink is gone (with the head): logs stop
            log.warning("cannot read task logs from %s: %s", self.address, exc)
            return
        for key, data in chunks.items():
            _append(self._tasks[key].log_path, data)

    def cancel(self, handle: Handle) -> None:
        import ray

        with self._lock:
            task = self._tasks.get(handle.id)
            if task is None or self._ctx is None:
                return
            with contextlib.suppress(Exception), self._ctx:
                ray.cancel(task.ref, force=True)

    def reap_orphan(self, pid: int, host: str) -> None:
        """Nothing to do: a Ray task is owned by the client session that submitted it, and Ray
        stops it when that session (a scheduler that is gone) disconnects."""


def _append(path: Path, data: bytes) -> None:
    with open(path, "ab") as f:
        f.write(data)
