"""Scheduling throughput and latency: N tiny versions (default 1,000) submitted at once to a
real `assay server`, on the local backend and on a local Ray cluster (a head node and one
worker node of 4 CPUs, each a `ray start` on loopback, as the tests start them), with the
metadata in SQLite and then in PostgreSQL (a throwaway Debian cluster on loopback).

Each version is a custom script that writes its metrics and exits, on a pool of 4 CPUs (4
versions at a time on this 2-core machine: the cost of a version is Assay's, not the
script's). Printed per backend and database: submission rate (versions queued per second
through the REST API, 8 client threads), submit-to-running latency p50/p95 (queued at ->
started at, when the scheduler hands the task to its backend; most of it is waiting for a
free slot, since all N are queued at once), and completed versions per second from the
first submission to the last finish. Set ASSAY_BENCH_VERSIONS to change N and
ASSAY_BENCH_BACKENDS (default "local,ray") to run one backend only.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("ASSAY_BENCH_VERSIONS", "1000"))
BACKENDS = os.environ.get("ASSAY_BENCH_BACKENDS", "local,ray").split(",")
SLOTS = 4
SCRIPT = """import os
with open(os.path.join(os.environ["ASSAY_OUTPUT_DIR"], "metrics.json"), "w") as f:
    f.write('{"ok": 1}')
"""


def _when(text: str) -> float:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def _run(label: str, database_url: str | None, ray_address: str | None) -> None:
    from tests.conftest import start_server

    from assay import hub

    work = Path(tempfile.mkdtemp(prefix="assay-bench-sched-"))
    home = work / "home"
    home.mkdir()
    env = {"ASSAY_DATABASE_URL": database_url} if database_url else {}
    srv = start_server(home, env)
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        code = work / "code"
        code.mkdir()
        (code / "tiny.py").write_text(SCRIPT)
        (code / "d.txt").write_text("d")
        hub.create_folder(type_="code", name="b").create_asset(name="tiny").create_commit(
            message="c", add=[str(code / "tiny.py")]
        )
        for kind in ("dataset", "model"):
            hub.create_folder(type_=kind, name="b").create_asset(name="d").create_commit(
                message="d", add=[str(code / "d.txt")]
            )
        if ray_address:
            hub.create_pool("bench", cpu=SLOTS, backend="ray", address=ray_address)
        else:
            hub.create_pool("bench", cpu=SLOTS)
        started = time.perf_counter()
        job = hub.create_job(
            name="tiny",
            model="model/b/d",
            dataset="dataset/b/d",
            code="b/tiny",
            launch="tiny.py",
            pool="bench",
            cpu=1,
        )
        with ThreadPoolExecutor(8) as pool:
            list(pool.map(lambda _: job.create_version(), range(N - 1)))
        submit = time.perf_counter() - started
        while True:
            versions = hub.get_job("tiny").versions()
            if all(v.status in ("Completed", "Failed", "Terminated") for v in versions):
                break
            time.sleep(1)
        failed = [v.name for v in versions if v.status != "Completed"]
        queued = np.array([_when(v.data["queuedAt"]) for v in versions])
        running = np.array([_when(v.data["startedAt"]) for v in versions])
        finished = np.array([_when(v.data["finishedAt"]) for v in versions])
        wait = running - queued
        total = finished.max() - queued.min()
        print(
            f"{label:<18} {N:,} versions: submitted {N / submit:6.1f}/s; submit-to-running "
            f"p50 {np.percentile(wait, 50):6.2f} s, p95 {np.percentile(wait, 95):6.2f} s; "
            f"completed {N / total:5.2f} versions/s ({total:.0f} s); "
            f"load average {os.getloadavg()[0]:.1f}"
            + (f"; {len(failed)} not completed: {failed[:3]}" if failed else "")
        )
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def main() -> None:
    from tests.integration.jobs.test_ray import start_cluster
    from tests.support.postgres import PostgresServer

    # Stopped (even from a background shell, where SIGINT is ignored): clean up all the same.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    signal.signal(signal.SIGINT, signal.default_int_handler)
    print(f"Scheduling {N:,} tiny versions on a pool of {SLOTS} CPUs")
    subprocess.run(["bash", str(ROOT / "scripts/ensure-postgres.sh")], check=True)
    pg = PostgresServer()
    pg.start()
    cluster = start_cluster(workers=1, cpus=SLOTS) if "ray" in BACKENDS else None
    try:
        for db in ("SQLite", "PostgreSQL"):
            for backend in BACKENDS:
                url = pg.create_database() if db == "PostgreSQL" else None
                address = cluster.address if cluster and backend == "ray" else None
                _run(f"{backend}, {db}", url, address)
    finally:
        if cluster is not None:
            cluster.stop()
        pg.stop()


if __name__ == "__main__":
    sys.exit(main())
