"""The scheduler: admits queued versions to pools, runs their tasks on a backend, watches them,
and records every state change as a committed database write.

One loop, four steps a tick: beat (renew this scheduler's lease), recover (tasks of schedulers
whose lease lapsed are stopped and retried), watch (finished, timed-out and terminated tasks),
admit (queued versions that fit their pool, first come first served by priority; retried
tasks). Claims are compare-and-set updates, so two schedulers on one database never run a
version twice, and a version's evaluation is inserted in the same transaction that moves it to
Completed, under a unique version id: results land exactly once.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import shutil
import socket
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from sqlalchemy import delete, select, update
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session

from assay.backends.base import Backend, Handle
from assay.backends.local import LocalBackend
from assay.core.errors import InvalidInput
from assay.core.states import FINAL, State
from assay.db.models import (
    Evaluation,
    Job,
    Pool,
    SchedulerLease,
    Task,
    Version,
    utcnow,
)
from assay.scheduler import llm, outputs, specs
from assay.scheduler.backends import PoolBackends
from assay.scheduler.faults import failure as _failure
from assay.scheduler.faults import pid_alive as _pid_alive
from assay.scheduler.faults import stale
from assay.services import pools, transitions
from assay.services.context import Instance
from assay.worker.spec import RESULT_FILE

log = logging.getLogger("assay.scheduler")
LEASE_TTL = timedelta(seconds=15)
# A tick watches and admits every time (0.2 s); the lease is renewed and lost schedulers'
# tasks looked for less often, since neither needs a fifth of a second: a tick's database
# work costs CPU that the tasks on the same machine would otherwise use (docs/performance.md).
BEAT_EVERY = 3.0  # seconds; well inside LEASE_TTL
RECOVER_EVERY = 1.0


@dataclass
class Running:
    task_id: str
    version_id: str
    handle: Handle
    workdir: Path
    log_path: Path
    started: float
    cancelled: bool = False
    backend: Backend | None = None  # the one that started it (None: the scheduler's own)
    attempt: int = 0  # the task's attempt this run is: a later one in the database = stale
    code: int | None = None  # its exit code, once it ended


def version_label(job: Job, v: Version) -> str:
    return f"{job.name}:V{v.number:04d}"


class Scheduler:
    def __init__(
        self,
        instance: Instance,
        backend: Backend | None = None,
        *,
        only: set[str] | None = None,
        interval: float = 0.2,
    ) -> None:
        self.id = str(uuid.uuid4())
        self.instance = instance
        self.backend: Backend = backend or LocalBackend()
        self.backends = PoolBackends(self.backend)  # local pools: self.backend; ray pools: Ray
        self.only = only  # embedded mode: run just these versions (the ones being waited on)
        self.interval = interval
        self.host = socket.gethostname()
        self._running: dict[str, Running] = {}
        self._stop = threading.Event()
        self._wake = threading.Event()  # a worker ended, or stop(): tick now
        if isinstance(self.backend, LocalBackend):
            self.backend.on_exit = self._wake.set
        self._thread: threading.Thread | None = None
        self._beaten = self._recovered = -math.inf  # monotonic times of the last of each

    # ---- lifecycle ---------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._loop, name="assay-scheduler", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop scheduling; tasks still running here are stopped and queued again, so the
        next scheduler (the next server start) runs them rather than finding them lost."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        with self.instance.db.session() as s:
            for run in list(self._running.values()):
                (run.backend or self.backend).cancel(run.handle)
                task = s.get(Task, run.task_id)
                version = s.get(Version, run.version_id)
                if version is not None and not stale(task, self.id, run.attempt):
                    assert task is not None
                    self._retry_or_fail(s, version, task, "its scheduler was stopped")
            self._running.clear()
            s.execute(delete(SchedulerLease).where(SchedulerLease.id == self.id))
        self.backends.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.tick()
            except Exception:  # keep scheduling; the next tick retries from the database
                log.exception("scheduler tick failed")
            self._wake.wait(self.interval)
            self._wake.clear()

    def tick(self) -> None:
        now = time.monotonic()
        if now - self._beaten >= BEAT_EVERY:
            self._beat()
            self._beaten = now
        if now - self._recovered >= RECOVER_EVERY:
            self._recover()
            self._recovered = now
        self._watch()
        self._admit()

    # ---- paths -------------------------------------------------------------------------------

    def log_path(self, version_id: str, index: int) -> Path:
        return self.instance.settings.home / "logs" / version_id / f"task-{index}.log"

    def _workdir(self, version_id: str, index: int, attempt: int) -> Path:
        root = self.instance.settings.resolved_work_dir / version_id
        return root / f"task-{index}" / f"attempt-{attempt}"

    # ---- steps -------------------------------------------------------------------------------

    def _beat(self) -> None:
        with self.instance.db.session() as s:
            lease = s.get(SchedulerLease, self.id)
            if lease is None:
                s.add(SchedulerLease(id=self.id, host=self.host, pid=os.getpid()))
            else:
                lease.heartbeat_at = utcnow()

    def _lease_dead(self, lease: SchedulerLease | None) -> bool:
        if lease is None:
            return True
        if lease.host == self.host and lease.id != self.id:
            return not _pid_alive(lease.pid)  # here, the process tells: a slow tick is no death
        return lease.heartbeat_at < utcnow() - LEASE_TTL

    def _recover(self) -> None:
        """Tasks whose scheduler is gone: stop what is left of them and retry or fail. Also
        this scheduler's own claims that run nowhere (the database failed as they started)."""
        with self.instance.db.session() as s:
            leases = {lease.id: lease for lease in s.scalars(select(SchedulerLease))}
            orphans = s.scalars(select(Task).where(Task.state == State.RUNNING)).all()
            for task in orphans:
                reason = "its scheduler stopped (server restart or killed process)"
                if task.scheduler_id == self.id:
                    if task.id in self._running:
                        continue
                    reason = "it never started (the database was unavailable)"
                elif not self._lease_dead(leases.get(task.scheduler_id or "")):
                    continue
                elif task.pid and task.host:
                    self.backend.reap_orphan(task.pid, task.host)
                version = s.get(Version, task.version_id)
                if version is not None:
                    self._retry_or_fail(s, version, task, reason)
            for lease in leases.values():
                if lease.id != self.id and self._lease_dead(lease):
                    s.delete(lease)

    def _retry_or_fail(self, s: Session, version: Version, task: Task, reason: str) -> None:
        task.finished_at = utcnow()
        if version.state != State.RUNNING:
            task.state = version.state
            return
        if task.attempts < task.max_attempts:
            task.state = State.QUEUING
            task.message = f"attempt {task.attempts} lost: {reason}; retrying"
            log.warning("task %s: %s", task.id, task.message)
        else:
            task.state = State.FAILED
            self._end(
                s,
                version,
                State.FAILED,
                f"worker lost {task.attempts} times, last because {reason}",
            )

    def _end(self, s: Session, version: Version, state: State, message: str) -> bool:
        """Move a running version to a final state by compare-and-set."""
        return transitions.move(s, version, state, message, expect=State.RUNNING)

    def _quiet(self) -> set[str]:
        """Task ids of this scheduler's runs that need nothing from the database this tick
        (still theirs, their version running and inside its timeout): one query for all,
        instead of a transaction per run. A read-only filter: ``_watch_one`` decides again,
        on fresh rows, for every run not in it, so keep its conditions the negation of
        this one's."""
        runs = list(self._running.values())
        if not runs:
            return set()
        by_task = {run.task_id: run for run in runs}
        quiet = set()
        now = utcnow()
        with self.instance.db.session() as s:
            rows = s.execute(
                select(
                    Task.id,
                    Task.scheduler_id,
                    Task.attempts,
                    Version.state,
                    Version.started_at,
                    Version.timeout,
                )
                .join(Version, Version.id == Task.version_id)
                .where(Task.id.in_(list(by_task)))
            ).all()
        for task_id, scheduler_id, attempts, state, started_at, timeout in rows:
            run = by_task[task_id]
            if (
                scheduler_id == self.id
                and attempts == run.attempt
                and state == State.RUNNING
                and not run.cancelled
                and (started_at is None or (now - started_at).total_seconds() <= timeout)
            ):
                quiet.add(task_id)
        return quiet

    def _watch(self) -> None:
        try:
            quiet = self._quiet()
        except OperationalError as exc:  # the database briefly unavailable: next tick
            log.warning("watching tasks: %s; trying again", exc)
            return
        for run in list(self._running.values()):
            try:
                if run.task_id in quiet:  # only whether its process ended
                    if run.code is None:
                        run.code = (run.backend or self.backend).poll(run.handle)
                    if run.code is None:
                        continue
                self._watch_one(run)
            except OperationalError as exc:  # the database briefly unavailable: next tick
                log.warning("watching task %s: %s; trying again", run.task_id, exc)
            except Exception as exc:  # one task's trouble must not stop the others
                log.exception("watching task %s failed", run.task_id)
                self._abandon(run, f"Assay failed while watching it: {exc!r}")

    def _abandon(self, run: Running, message: str) -> None:
        """Stop a task whose handling failed, and fail its version, in a fresh transaction."""
        self._running.pop(run.task_id, None)
        (run.backend or self.backend).cancel(run.handle)
        with self.instance.db.session() as s:
            task = s.get(Task, run.task_id)
            version = s.get(Version, run.version_id)
            if task is None or stale(task, self.id, run.attempt):
                return
            task.state = State.FAILED
            task.finished_at = utcnow()
            task.message = message[:8000]
            if version is not None and version.state == State.RUNNING:
                self._end(s, version, State.FAILED, message)

    def _watch_one(self, run: Running) -> None:
        with self.instance.db.session() as s:
            version = None if self._stop_stale(s, run) else s.get(Version, run.version_id)
            if version is None or version.state in FINAL:
                if not run.cancelled:  # terminated (or deleted) while running
                    (run.backend or self.backend).cancel(run.handle)
                    run.cancelled = True
                    if version is not None:  # what it reported so far, at once
                        self._keep_partial(version, run.workdir / "output")
            elif (
                version.started_at is not None
                and (utcnow() - version.started_at).total_seconds() > version.timeout
            ):
                self._end(
                    s,
                    version,
                    State.TIMED_OUT,
                    f"stopped after its timeout of {version.timeout} s; resources released",
                )
                self._keep_partial(version, run.workdir / "output")
                (run.backend or self.backend).cancel(run.handle)
                run.cancelled = True
        if run.code is None:  # kept until its end is recorded: a poll reports it only once
            run.code = (run.backend or self.backend).poll(run.handle)
        if run.code is not None:
            self._finish(run, run.code)

    def _finish(self, run: Running, code: int) -> None:
        output = run.workdir / "output"
        result = outputs.worker_result(output)
        with self.instance.db.session() as s:
            version = s.get(Version, run.version_id)
            task = s.get(Task, run.task_id)
            if version is None or task is None or stale(task, self.id, run.attempt):
                self._running.pop(run.task_id, None)
                self._cleanup(run.workdir, debug=False)
                return
            job = s.get(Job, version.job_id)
            assert job is not None
            task.exit_code = code
            task.finished_at = utcnow()
            wall = float(result.get("wall_seconds") or time.monotonic() - run.started)
            read = result.get("location_sha256") or {}
            version.model_path_sha256 = read.get("model", version.model_path_sha256)
            version.data_path_sha256 = read.get("data", version.data_path_sha256)
            version.cpu_seconds += float(result.get("cpu_seconds") or 0.0)
            version.gpu_seconds += version.gpu * wall
            version.peak_memory = max(version.peak_memory, int(result.get("peak_memory") or 0))
            if version.state != State.RUNNING:
                if version.state in (State.TERMINATED, State.TIMED_OUT):
                    self._keep_partial(version, output)
                task.state = version.state
            elif code == 0 and task.kind == "shard":
                self._shard_done(s, task, output)
            elif code == 0:
                self._complete(s, job, version, task, output)
            else:
                retry, why = _failure(code, result)
                if retry:
                    self._retry_or_fail(s, version, task, why)
                else:
                    task.state = State.FAILED
                    self._keep_partial(version, output)
                    tail = outputs.log_tail(run.log_path)
                    self._end(s, version, State.FAILED, f"{why}; last lines of the log:\n{tail}")
            debug = version.debug
        self._running.pop(run.task_id, None)  # only once its end is recorded
        self._cleanup(run.workdir, debug=debug)

    def _stop_stale(self, s: Session, run: Running) -> bool:
        """Whether another scheduler took this run's task over (this one looked dead); if so
        the run is stopped and, when it ends, writes nothing: the current attempt owns it."""
        if not stale(s.get(Task, run.task_id), self.id, run.attempt):
            return False
        if not run.cancelled:
            log.warning("task %s attempt %d was taken over; stopping it", run.task_id, run.attempt)
            (run.backend or self.backend).cancel(run.handle)
            run.cancelled = True
        return True

    def _shard_done(self, s: Session, task: Task, output: Path) -> None:
        """Keep a shard's outputs in storage; the last shard to finish releases the merge."""
        store = self.instance.store
        files = sorted(p for p in output.rglob("*") if p.is_file() and p.name != RESULT_FILE)
        task.outputs = [[p.relative_to(output).as_posix(), *store.put_file(p)] for p in files]
        task.state = State.COMPLETED
        s.flush()
        waiting = s.scalars(
            select(Task).where(
                Task.version_id == task.version_id,
                Task.kind == "shard",
                Task.state != State.COMPLETED,
            )
        ).first()
        if waiting is None:
            s.execute(
                update(Task)
                .where(
                    Task.version_id == task.version_id,
                    Task.kind == "merge",
                    Task.state == State.CREATING,
                )
                .values(state=State.QUEUING)
                .execution_options(synchronize_session=False)
            )

    def _keep_partial(self, version: Version, output: Path) -> None:
        with contextlib.suppress(InvalidInput):
            version.metrics = outputs.read_metrics(output)
            version.partial = True

    def _complete(self, s: Session, job: Job, version: Version, task: Task, output: Path) -> None:
        try:
            out = outputs.collect(output, self.instance.store)
        except InvalidInput as exc:
            task.state = State.FAILED
            self._end(s, version, State.FAILED, f"bad results: {exc.message}")
            return
        registered = (
            version.model_commit_id is not None or version.endpoint_id is not None
        ) and version.dataset_commit_id is not None
        message = (
            "completed"
            if registered
            else (
                "completed; no evaluation record, since the model or dataset was a storage "
                "location rather than a registered commit"
            )
        )
        # An llm version that reached its --max-cost ends Terminated, its answers kept.
        stopped = llm.stop_reason(output) if version.endpoint_id else None
        final, message = (State.TERMINATED, stopped) if stopped else (State.COMPLETED, message)
        if not self._end(s, version, final, message):
            return
        version.metrics = out.metrics
        version.partial = bool(stopped)
        task.state = State.COMPLETED
        if not registered:
            return
        exists = s.scalar(select(Evaluation.id).where(Evaluation.version_id == version.id))
        if exists is None:
            s.add(
                Evaluation(
                    owner_id=job.owner_id,
                    model_asset_id=version.model_asset_id,
                    model_commit_id=version.model_commit_id,
                    model_rev=version.model_rev,
                    model_branch=version.model_branch,
                    dataset_asset_id=version.dataset_asset_id,
                    dataset_commit_id=version.dataset_commit_id,
                    dataset_rev=version.dataset_rev,
                    dataset_branch=version.dataset_branch,
                    endpoint=version.endpoint_name,
                    metrics=out.metrics,
                    source=version_label(job, version),
                    version_id=version.id,
                    samples_sha256=out.samples_sha256,
                    sample_count=out.sample_count,
                    artifacts=out.artifacts,
                    partial=bool(stopped),
                )
            )

    def _cleanup(self, workdir: Path, *, debug: bool) -> None:
        if not debug:
            shutil.rmtree(workdir, ignore_errors=True)

    def _admit(self) -> None:
        """Start queued tasks that fit their pool: versions by priority then age, a version's
        tasks in order. Each running task holds its version's request; the first task to
        start moves its version to Running; nobody overtakes a task that does not fit."""
        claimed: list[tuple[str, str]] = []  # (version id, task id)
        with self.instance.db.session() as s:
            # Most ticks find nothing queued: one indexed lookup, then no locks or usage sums.
            if s.scalar(select(Task.id).where(Task.state == State.QUEUING).limit(1)) is None:
                return
            # Schedulers sharing a PostgreSQL database admit one at a time: each locks the
            # pool rows before reading what is free (SQLite's BEGIN IMMEDIATE already
            # serialises whole transactions, and SQLAlchemy leaves FOR UPDATE out there).
            s.execute(select(Pool.id).order_by(Pool.id).with_for_update()).all()
            free = {
                u.pool.id: [
                    u.pool.cpu - u.cpu_used,
                    u.pool.memory - u.memory_used,
                    u.pool.gpu - u.gpu_used,
                ]
                for u in pools.usage(s)
            }
            backends = dict(s.execute(select(Pool.id, Pool.backend)).all())
            blocked: set[str] = set()
            rows = s.execute(
                select(Task, Version)
                .join(Version, Version.id == Task.version_id)
                .where(
                    Task.state == State.QUEUING,
                    Version.state.in_([State.QUEUING, State.RUNNING]),
                )
                .order_by(Version.priority.desc(), Version.queued_at, Version.number, Task.index)
            ).all()
            for task, v in rows:
                if v.pool_id in blocked or backends.get(v.pool_id) not in self.backends.kinds:
                    continue
                if self.only is not None and v.id not in self.only:
                    continue
                room = free[v.pool_id]
                if v.cpu > room[0] + 1e-9 or v.memory > room[1] or v.gpu > room[2]:
                    blocked.add(v.pool_id)  # nobody overtakes the head of a pool's queue
                    continue
                if v.state == State.QUEUING and not transitions.move(
                    s, v, State.RUNNING, "running"
                ):
                    continue
                moved = s.execute(
                    update(Task)
                    .where(Task.id == task.id, Task.state == State.QUEUING)
                    .values(
                        state=State.RUNNING,
                        attempts=Task.attempts + 1,
                        scheduler_id=self.id,
                        started_at=utcnow(),
                        pid=None,
                        message="",
                    )
                    .execution_options(synchronize_session=False)
                ).rowcount  # type: ignore[attr-defined]
                if moved == 1:
                    room[0] -= v.cpu
                    room[1] -= v.memory
                    room[2] -= v.gpu
                    claimed.append((v.id, task.id))
        for version_id, task_id in claimed:
            self._launch(version_id, task_id)

    def _launch(self, version_id: str, task_id: str) -> None:
        with self.instance.db.session() as s:
            version = s.get(Version, version_id)
            task = s.get(Task, task_id)
            assert version is not None and task is not None
            job = s.get(Job, version.job_id)
            assert job is not None
            try:
                workdir = self._workdir(version.id, task.index, task.attempts)
                spec = specs.task_spec(self.instance, s, job, version, task, workdir)
                log_path = self.log_path(version.id, task.index)
                log_path.parent.mkdir(parents=True, exist_ok=True)
                with open(log_path, "a") as f:
                    f.write(
                        f"[assay] {version_label(job, version)} task {task.index} attempt "
                        f"{task.attempts} on {self.host}\n"
                    )
                pool = s.get(Pool, version.pool_id)
                backend = self.backends.get(pool.backend, pool.address) if pool else self.backend
                handle = backend.start(spec, workdir / "spec.json", log_path)
            except Exception as exc:  # a task that cannot even start fails its version
                log.exception("cannot start task %s", task_id)
                task.state = State.FAILED
                self._end(s, version, State.FAILED, f"could not start: {exc}")
                return
            task.pid, task.host, task.handle = handle.pid, handle.host, handle.id or None
            version.workdir = str(workdir)
            attempt = task.attempts
        self._running[task_id] = Running(
            task_id,
            version_id,
            handle,
            workdir,
            log_path,
            time.monotonic(),
            backend=backend,
            attempt=attempt,
        )
