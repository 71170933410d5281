"""Faults (issue 9, part 6), on the embedded default: SQLite, local files, the local backend,
real `assay server` processes and real workers, killed with -9.

After each fault: every version reaches a final state, each completed version has exactly one
evaluation, and no commit is half-visible. Execution is at-least-once; results are
exactly-once. Figures (recovery times) are printed as ``FIGURE name: value`` lines (run with
``-s`` to see them; docs/reliability.md records one run): recorded, never asserted.
"""

from __future__ import annotations

import contextlib
import errno
import hashlib
import json
import os
import shutil
import signal
import socket
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import event, func, select, update
from sqlalchemy.exc import OperationalError

from assay import errors, hub
from assay.api.app import open_state
from assay.core.config import get_settings
from assay.db.models import Evaluation, SchedulerLease, Task, Version, utcnow
from assay.scheduler.scheduler import Scheduler
from tests.conftest import DATABASE, STORAGE, Server, start_server, use_home
from tests.integration.jobs.conftest import make_assets, new_job
from tests.support.waiting import until

pytestmark = pytest.mark.skipif(
    DATABASE != "sqlite" or STORAGE != "local",
    reason="faults are shown on the embedded default (SQLite, local files)",
)

SCRIPT = """
import argparse, os, signal, sys, time
p = argparse.ArgumentParser()
p.add_argument("--model_url"); p.add_argument("--data_url")
p.add_argument("--sleep", type=float, default=0)
p.add_argument("--mode", default="ok")
p.add_argument("--hold", type=float, default=0)  # extra seconds in attempt 1 only
a, _ = p.parse_known_args()
print("start attempt", os.environ.get("ASSAY_ATTEMPT"), "pid", os.getpid(), flush=True)
if a.mode == "oom":  # what the kernel's out-of-memory killer does to a process
    os.kill(os.getpid(), signal.SIGKILL)
if a.mode == "hog":  # more than the version's memory request
    hog = bytearray(1 << 31)
if os.environ.get("ASSAY_ATTEMPT") == "1":
    a.sleep += a.hold
for i in range(int(a.sleep * 10)):
    time.sleep(0.1)
    if i == 0:
        print("running", flush=True)
from assay import report
report.metrics({"accuracy": 0.75})
report.samples([{"id": d, "correct": True} for d in sorted(os.listdir(a.data_url))])
print("done", flush=True)
"""


def figure(name: str, value: float, unit: str = "s") -> None:
    print(f"FIGURE {name}: {value:.2f} {unit}", flush=True)


def alive(pid: int) -> bool:
    """A process that exists and is not a zombie."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] != "Z"


def sources(job: str) -> list[str]:
    """The evaluations written for ``job``'s versions, one entry per evaluation."""
    return sorted(e["source"] for e in hub.list_evaluation("f/m") if e["source"].startswith(job))


def worker_pids(work_dir: Path) -> set[int]:
    """This instance's worker processes (their spec lies under its own work directory: other
    test runs on the machine have workers too)."""
    pids = set()
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError):
                cmdline = (entry / "cmdline").read_bytes()
                if b"assay.worker" in cmdline and str(work_dir).encode() in cmdline:
                    pids.add(int(entry.name))
    return pids


def script_pid(v: hub.Version, attempt: int) -> int:
    line = until(
        lambda: next(
            (x for x in v.logs().splitlines() if x.startswith(f"start attempt {attempt} pid")),
            None,
        ),
        f"attempt {attempt} to start",
    )
    return int(line.rsplit(" ", 1)[1])


@contextlib.contextmanager
def running_server(home: Path, extra: dict[str, str] | None = None) -> Iterator[Server]:
    home.mkdir(exist_ok=True)
    srv = start_server(home, extra)
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        yield srv
    finally:
        if srv.process.poll() is None:
            srv.process.terminate()
            try:
                srv.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                srv.process.kill()


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    """One server, with f/m, f/d and s/e, for the tests that need no server of their own
    (starting one is most of a test's cost on a loaded machine)."""
    from assay.sdk import embedded

    tmp = tmp_path_factory.mktemp("faults")
    with pytest.MonkeyPatch.context() as mp:
        use_home(mp, tmp / "sdk-home")
        with running_server(tmp / "server-home", {"ASSAY_WORK_DIR": str(tmp / "work")}) as srv:
            make_assets(tmp, SCRIPT)
            try:
                yield srv
            finally:
                hub._client = None
                embedded.stop_all()
                get_settings.cache_clear()


# ---- workers killed --------------------------------------------------------------------------


def test_worker_killed_mid_task_and_before_its_first_sign_of_life(
    home: Path, shared: Server
) -> None:
    hub.login(host=shared.url, api_key=shared.admin_key)
    # Mid-task: the script has started and printed.
    mid = new_job("mid", params={"sleep": 1.5}).get_version("V0001")
    pid = until(lambda: next((t["pid"] for t in mid.tasks() if t["pid"]), None), "a worker")
    until(lambda: "running" in mid.logs(), "the script to run")
    script = script_pid(mid, 1)
    os.kill(pid, signal.SIGKILL)
    killed = time.monotonic()
    mid.wait(timeout=120)
    figure("worker kill -9 mid-task -> Completed", time.monotonic() - killed)
    assert mid.status == "Completed", mid.data["message"]
    assert mid.tasks()[0]["attempts"] == 2
    assert not alive(script), "the killed worker's script ran on"
    # Before its first sign of life: killed as soon as the process exists, before the worker
    # has read its spec, let alone reported a pid or started the script.
    work_dir = shared.home.parent / "work"
    before = worker_pids(work_dir)
    early = new_job("early", params={"sleep": 0.2}).get_version("V0001")
    deadline = time.monotonic() + 60
    while not (started := worker_pids(work_dir) - before) and time.monotonic() < deadline:
        pass  # no sleep: the worker is to be caught before it gets going
    pid = started.pop()
    os.kill(pid, signal.SIGKILL)
    early.wait(timeout=120)
    assert early.status == "Completed", early.data["message"]
    assert early.tasks()[0]["attempts"] == 2
    assert "start attempt 1" not in early.logs()  # attempt 1 never reached its script
    assert sources("mid") == ["mid:V0001"] and sources("early") == ["early:V0001"]


def test_out_of_memory_gets_bounded_retries_then_fails_clearly(home: Path, shared: Server) -> None:
    hub.login(host=shared.url, api_key=shared.admin_key)
    # Killed by SIGKILL each time, as the OOM killer does: retried, at most max_attempts.
    oom = new_job("oom", params={"mode": "oom"}).get_version("V0001").wait(timeout=120)
    assert oom.status == "Failed"
    task = oom.tasks()[0]
    assert task["attempts"] == task["maxAttempts"] == 3
    assert "lost 3 times" in oom.data["message"] and "out of memory" in oom.data["message"]
    assert oom.logs().count("start attempt") == 3
    # Over its memory limit (an allocation refused): the script's own failure, not retried.
    hog = new_job("hog", params={"mode": "hog"}, memory="512MiB").get_version("V0001")
    hog.wait(timeout=120)
    assert hog.status == "Failed" and hog.tasks()[0]["attempts"] == 1
    assert "MemoryError" in hog.data["message"]
    assert sources("oom") == [] and sources("hog") == []


# ---- the server killed -----------------------------------------------------------------------


def test_server_killed_with_versions_queued_and_running(home: Path, tmp_path: Path) -> None:
    server_home = tmp_path / "server-home"
    with running_server(server_home) as srv:
        make_assets(tmp_path, SCRIPT)
        hub.create_pool("one", cpu=1)
        job = new_job("r", params={"sleep": 1, "hold": 120}, pool="one")
        job.create_version(params={"sleep": 1, "hold": 0})  # queued behind V0001
        first = job.get_version("V0001")
        until(lambda: "running" in first.logs(), "V0001 to run")
        worker = first.tasks()[0]["pid"]
        script = script_pid(first, 1)
        srv.process.send_signal(signal.SIGKILL)  # no goodbye: leases and tasks left behind
        srv.process.wait(timeout=10)
        killed = time.monotonic()
        # The worker that lost its server stops itself and its script: nothing runs on as a
        # duplicate of the retry the next server will make.
        until(lambda: not alive(worker) and not alive(script), "the orphaned task to stop", 30)
        figure("orphaned worker stops itself after the server's kill -9", time.monotonic() - killed)
        assert "done" not in (server_home / "logs" / first.data["id"] / "task-0.log").read_text()
    with running_server(server_home):
        figure("server restart (kill -9 to a new server answering)", time.monotonic() - killed)
        restarted = time.monotonic()
        versions = [hub.get_version(f"r:V000{i}") for i in (1, 2)]
        for v in versions:
            v.wait(timeout=180)
        figure("new server up -> both versions final", time.monotonic() - restarted)
        assert [v.status for v in versions] == ["Completed"] * 2, [
            v.data["message"] for v in versions
        ]
        assert [v.tasks()[0]["attempts"] for v in versions] == [2, 1]
        assert sources("r") == ["r:V0001", "r:V0002"]


# ---- a task delivered twice ------------------------------------------------------------------


def _count(state: Any, model: Any, **where: Any) -> int:
    with state.db.session() as s:
        q = select(func.count()).select_from(model)
        for k, v in where.items():
            q = q.where(getattr(model, k) == v)
        return int(s.scalar(q) or 0)


def test_a_task_delivered_twice_writes_its_results_once(home: Path, tmp_path: Path) -> None:
    """Scheduler A (on "host-a") starts a task, then looks dead to scheduler B (its lease
    lapsed: a partition, a long pause), which retries the task: two workers run the same
    task at once. A's run is stale and writes nothing; B's result lands once; delivering B's
    result a second time changes nothing."""
    make_assets(tmp_path, SCRIPT)
    version = new_job("dup", params={"sleep": 1.5}).get_version("V0001")  # queued, no scheduler
    state = open_state(get_settings(), local_user=None)
    a, b = Scheduler(state), Scheduler(state)
    a.host = a.backend.host = "host-a"  # type: ignore[attr-defined]
    try:
        a.tick()
        (run_a,) = a._running.values()
        until(lambda: "running" in version.logs(), "attempt 1 to run")
        with state.db.session() as s:  # A's lease lapses
            s.execute(
                update(SchedulerLease)
                .where(SchedulerLease.id == a.id)
                .values(heartbeat_at=utcnow() - timedelta(minutes=5))
            )
        b.tick()  # recovers the task and starts attempt 2 while attempt 1 still runs
        (run_b,) = b._running.values()
        assert alive(run_a.handle.pid) and alive(run_b.handle.pid)

        def a_dropped() -> bool:  # A finds its run taken over: stops it, writes nothing
            a.tick()
            return not a._running and not alive(run_a.handle.pid)

        until(a_dropped, "A to drop its run", 30)
        with state.db.session() as s:  # and wrote nothing: attempt 2 is still B's, running
            task = s.scalars(select(Task).where(Task.version_id == version.data["id"])).one()
            assert (task.state, task.attempts, task.scheduler_id) == ("Running", 2, b.id)
        until(lambda: b.backend.poll(run_b.handle) is not None, "attempt 2 to end")
        b._running[run_b.task_id] = run_b
        output = tmp_path / "output-copy"
        shutil.copytree(run_b.workdir / "output", output)
        b._finish(run_b, 0)
        with state.db.session() as s:
            v = s.scalars(select(Version).where(Version.id == version.data["id"])).one()
            assert v.state == "Completed", v.message
            task = s.scalars(select(Task).where(Task.version_id == v.id)).one()
            assert task.attempts == 2 and task.scheduler_id == b.id
            metrics = dict(v.metrics)
        assert _count(state, Evaluation, version_id=v.id) == 1
        # The same result delivered again (a retried report, a duplicate message): a no-op.
        again = type(run_b)(**{**run_b.__dict__, "workdir": tmp_path})
        (tmp_path / "output").mkdir(exist_ok=True)
        shutil.copytree(output, tmp_path / "output", dirs_exist_ok=True)
        b._running[again.task_id] = again
        b._finish(again, 0)
        assert _count(state, Evaluation, version_id=v.id) == 1
        with state.db.session() as s:
            v2 = s.get(Version, v.id)
            assert v2 is not None and v2.state == "Completed" and dict(v2.metrics) == metrics
    finally:
        for sched in (a, b):
            for run in list(sched._running.values()):
                sched.backend.cancel(run.handle)
        state.db.dispose()


# ---- the database locked ---------------------------------------------------------------------


def test_database_briefly_locked(home: Path, shared: Server) -> None:
    """Another process holds SQLite's write lock for a few seconds while users create and
    read versions and a running version finishes: everyone waits, nobody gets an error."""
    server = shared
    hub.login(host=server.url, api_key=server.admin_key)
    job = new_job("lock", params={"sleep": 1})
    first = job.get_version("V0001")
    until(lambda: "running" in first.logs(), "V0001 to run")
    db = sqlite3.connect(
        server.home / "assay.db", isolation_level=None, timeout=30, check_same_thread=False
    )
    db.execute("BEGIN EXCLUSIVE")
    locked = time.monotonic()
    release = threading.Timer(4, db.rollback)
    release.start()
    statuses, slowest = [], 0.0
    with server.client(server.admin_key) as api:
        for call in (
            lambda: api.post("/jobs/lock/versions", json={}),
            lambda: api.get("/jobs/lock/versions"),
            lambda: api.get("/evaluations"),
        ):
            started = time.monotonic()
            statuses.append(call().status_code)
            slowest = max(slowest, time.monotonic() - started)
    release.join()
    db.close()
    figure("longest request while the database was locked for 4 s", slowest)
    assert time.monotonic() - locked >= 4
    assert statuses == [201, 200, 200], statuses
    versions = [job.get_version(f"V000{i}").wait(timeout=120) for i in (1, 2)]
    assert [v.status for v in versions] == ["Completed", "Completed"]
    assert sources("lock") == ["lock:V0001", "lock:V0002"]


def test_database_unavailable_to_the_scheduler(home: Path, tmp_path: Path) -> None:
    """The scheduler's database refuses it (locked past its busy timeout, here 50 ms) just as
    a task ends: the task is watched again next tick, not abandoned, and its result lands
    once. A claim whose launch never ran (the database failed in between) is retried."""
    make_assets(tmp_path, SCRIPT)
    job = new_job("unavail", params={"sleep": 0.3})
    job.create_version()
    state = open_state(get_settings(), local_user=None)
    event.listen(state.db.engine, "connect", lambda conn, _: conn.execute("PRAGMA busy_timeout=50"))
    state.db.engine.dispose()  # connections from now on give up after 50 ms
    ids = [job.get_version(f"V000{i}").data["id"] for i in (1, 2)]
    sched = Scheduler(state, only={ids[0]})
    blocker = sqlite3.connect(home / "assay.db", isolation_level=None)
    try:
        sched.tick()
        (run,) = sched._running.values()
        until(lambda: not alive(run.handle.pid), "V0001's worker to end")
        blocker.execute("BEGIN EXCLUSIVE")
        for _ in range(3):
            with contextlib.suppress(OperationalError):  # as the scheduler's loop does
                sched.tick()
            sched._watch()  # the step that sees the task end, with the database refusing
        assert list(sched._running) == [run.task_id], "the ended task was abandoned"
        blocker.rollback()
        # V0002's claim committed, then the database failed before its worker started.
        second = ids[1]
        with state.db.session() as s:
            s.execute(update(Version).where(Version.id == second).values(state="Running"))
            s.execute(
                update(Task)
                .where(Task.version_id == second)
                .values(state="Running", attempts=1, scheduler_id=sched.id)
            )
        assert sched.only is not None
        sched.only.add(second)

        def final() -> bool:
            sched.tick()
            with state.db.session() as s:
                states = s.scalars(select(Version.state).where(Version.id.in_(ids))).all()
                return all(x in ("Completed", "Failed") for x in states)

        until(final, "both versions to end")
        with state.db.session() as s:
            rows = s.execute(
                select(Version.number, Version.state, Task.attempts)
                .join(Task, Task.version_id == Version.id)
                .where(Version.id.in_(ids))
                .order_by(Version.number)
            ).all()
        assert [tuple(r) for r in rows] == [(1, "Completed", 1), (2, "Completed", 2)]
        assert sources("unavail") == ["unavail:V0001", "unavail:V0002"]
    finally:
        blocker.close()
        for run in list(sched._running.values()):
            sched.backend.cancel(run.handle)
        state.db.dispose()


# ---- the disk full ---------------------------------------------------------------------------


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    """A 2 MiB tmpfs, unmounted afterwards."""
    mount = tmp_path / "small-disk"
    mount.mkdir()
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def messages(ref: str) -> list[str]:
    return [c["message"] for c in hub.get_asset(ref, "model").list_commits()]


def test_disk_full_while_writing_a_commit(home: Path, tmp_path: Path, small_disk: Path) -> None:
    store = small_disk / "files"
    with running_server(tmp_path / "server-home", {"ASSAY_STORAGE_URL": str(store)}) as srv:
        src = tmp_path / "src"
        src.mkdir()
        (src / "small.txt").write_text("fits")
        (src / "big.bin").write_bytes(os.urandom(3 * 1024 * 1024))
        asset = hub.create_folder(type_="model", name="f").create_asset(name="full")
        with pytest.raises(errors.AssayError) as caught:
            asset.create_commit(
                message="too big", add=[str(src / "small.txt"), str(src / "big.bin")]
            )
        assert "storage is full" in str(caught.value), caught.value
        with srv.client(srv.admin_key) as api:
            body = os.urandom(3 * 1024 * 1024)
            blob = api.put(f"/blobs/{hashlib.sha256(body).hexdigest()}", content=body)
            assert blob.status_code == 507, blob.text
            assert blob.json()["error"]["message"]
        # Nothing half-visible: no commit, no partial or temporary blob left on the disk.
        assert messages("f/full") == ["Initial commit"]
        leftovers = [
            p.name
            for p in store.rglob("*")
            if p.is_file() and (p.name.startswith(".upload-") or p.stat().st_size > 1 << 20)
        ]
        assert leftovers == []
        # Once there is room again, the same asset takes a commit that fits.
        asset.create_commit(message="fits", add=[str(src / "small.txt")])
        assert sorted(messages("f/full")) == ["Initial commit", "fits"]


# ---- an endpoint that hangs ------------------------------------------------------------------


@contextlib.contextmanager
def hanging_endpoint() -> Iterator[tuple[str, list[socket.socket]]]:
    """A loopback endpoint that accepts connections and never answers."""
    listener = socket.create_server(("127.0.0.1", 0))
    connections: list[socket.socket] = []

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                connections.append(listener.accept()[0])

    threading.Thread(target=accept, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/v1", connections
    finally:
        listener.close()
        for conn in connections:
            conn.close()


def test_an_llm_endpoint_that_hangs(
    home: Path, tmp_path: Path, shared: Server, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The endpoint accepts connections and never answers: each request times out, is
    retried a bounded number of times, and the version ends with every sample an error."""
    hub.login(host=shared.url, api_key=shared.admin_key)
    data = tmp_path / "qa"
    data.mkdir()
    rows = [{"id": f"q{i}", "prompt": f"question {i}?", "reference": "a"} for i in range(3)]
    (data / "data.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    monkeypatch.chdir(data)
    hub.create_folder(type_="dataset", name="qa").create_asset(name="hang").create_commit(
        message="qa", add=["."]
    )
    with hanging_endpoint() as (url, connections):
        hub.create_endpoint("hangs", base_url=url, model="m1")
        job = hub.create_job(
            name="hang",
            type="llm",
            endpoint="hangs",
            dataset="qa/hang",
            params={"request_timeout": 1, "retries": 1, "cache": False},
        )
        started = time.monotonic()
        v = job.get_version("V0001").wait(timeout=120)
        figure(f"hanging endpoint: version {v.status} after", time.monotonic() - started)
        print("connections to the hanging endpoint:", len(connections), v.data["message"])
        assert len(connections) <= len(rows) * 2  # 1 + retries each: no endless retry
    assert v.status in ("Completed", "Failed"), v.data["message"]
    if v.status == "Completed":
        assert v.metrics["error_rate"] == 1.0
    evaluations = [e for e in hub.list_evaluation() if e["source"] == "hang:V0001"]
    assert len(evaluations) == (1 if v.status == "Completed" else 0)


def test_a_database_locked_past_its_busy_timeout_answers_503() -> None:
    """SQLite waits 60 s for a lock (busy_timeout); past that, the request is refused as
    retryable (503, Retry-After) rather than an internal error, and a full disk is a 507."""
    from sqlalchemy.exc import OperationalError

    from assay.api.errors import _unavailable

    def status(exc: BaseException) -> int | None:
        found = _unavailable(exc)
        return found[0] if found else None

    locked = OperationalError("UPDATE", {}, sqlite3.OperationalError("database is locked"))
    full = OperationalError("INSERT", {}, sqlite3.OperationalError("database or disk is full"))
    assert (status(locked), status(full)) == (503, 507)
    assert status(OSError(errno.ENOSPC, "No space left on device")) == 507
    assert status(OSError(errno.ENOENT, "No such file")) is None
