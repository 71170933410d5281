"""Soak: N small jobs (default 1,000 versions of a tiny script) through the scheduler of a
real `assay server`, watching the server process for leaks.

The server's open files, threads, child processes and RSS are sampled once a warm-up of 20
versions has finished (imports, caches and the thread pool filled), and again after all N
have. Printed: the samples, the growth, and the bounds the reduced form
(tests/reliability/test_soak.py, 100 versions) asserts. ASSAY_BENCH_SOAK sets N.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
N = int(os.environ.get("ASSAY_BENCH_SOAK", "1000"))
WARMUP = 20
SLOTS = 8
SCRIPT = """import os
with open(os.path.join(os.environ["ASSAY_OUTPUT_DIR"], "metrics.json"), "w") as f:
    f.write('{"ok": 1}')
"""
# What N versions may add to the server after the warm-up: a few descriptors (a pooled
# database connection, a log file), no process, no thread beyond the pools' own, and RSS
# within 64 MiB (allocator arenas and SQLAlchemy's caches settle well below that).
MAX_FDS = 8
MAX_THREADS = 8
MAX_RSS = 64 * 2**20


@dataclass(frozen=True)
class Sample:
    fds: int
    threads: int
    children: int
    rss: int

    def __str__(self) -> str:
        return (
            f"{self.fds} open files, {self.threads} threads, {self.children} child processes, "
            f"RSS {self.rss / 2**20:.0f} MiB"
        )


def sample(pid: int) -> Sample:
    proc = psutil.Process(pid)
    return Sample(
        fds=proc.num_fds(),
        threads=proc.num_threads(),
        children=len(proc.children(recursive=True)),
        rss=proc.memory_info().rss,
    )


def setup(work: Path) -> object:
    """A tiny job on a pool of SLOTS CPUs (through the current hub login)."""
    from assay import hub

    code = work / "code"
    code.mkdir()
    (code / "tiny.py").write_text(SCRIPT)
    (code / "d.txt").write_text("d")
    hub.create_folder(type_="code", name="s").create_asset(name="tiny").create_commit(
        message="c", add=[str(code / "tiny.py")]
    )
    for kind in ("dataset", "model"):
        hub.create_folder(type_=kind, name="s").create_asset(name="d").create_commit(
            message="d", add=[str(code / "d.txt")]
        )
    hub.create_pool("soak", cpu=SLOTS)
    return hub.create_job(
        name="soak",
        model="model/s/d",
        dataset="dataset/s/d",
        code="s/tiny",
        launch="tiny.py",
        pool="soak",
        cpu=1,
    )


def run_versions(count: int) -> list[str]:
    """Queue ``count`` more versions of the job, wait for all; the ones not Completed."""
    from assay import hub

    job = hub.get_job("soak")
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(lambda _: job.create_version(), range(count)))
    while True:
        versions = hub.get_job("soak").versions()
        if all(v.status in ("Completed", "Failed", "Terminated") for v in versions):
            return [f"{v.name}: {v.status}" for v in versions if v.status != "Completed"]
        time.sleep(0.5)


def settled(pid: int) -> Sample:
    """A sample once the last workers have been reaped."""
    for _ in range(50):
        now = sample(pid)
        if now.children == 0:
            return now
        time.sleep(0.2)
    return sample(pid)


def soak(pid: int, work: Path, n: int) -> tuple[Sample, Sample, list[str]]:
    setup(work)  # its first version (V0001) counts toward the warm-up
    bad = run_versions(WARMUP - 1)
    before = settled(pid)
    bad += run_versions(n - WARMUP)
    return before, settled(pid), bad


def main() -> None:
    from tests.conftest import start_server

    from assay import hub

    work = Path(tempfile.mkdtemp(prefix="assay-bench-soak-"))
    os.environ["ASSAY_HOME"] = str(work / "sdk-home")  # the login below stays in here
    home = work / "home"
    home.mkdir()
    srv = start_server(home)
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        started = time.perf_counter()
        before, after, bad = soak(srv.process.pid, work, N)
        took = time.perf_counter() - started
        print(
            f"Soak: {N:,} versions of a tiny script in {took:.0f} s ({N / took:.1f}/s), "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(f"  after {WARMUP} versions: {before}")
        print(f"  after {N:,} versions:  {after}")
        print(
            f"  growth: {after.fds - before.fds:+d} open files (bound {MAX_FDS}), "
            f"{after.threads - before.threads:+d} threads (bound {MAX_THREADS}), "
            f"{after.children - before.children:+d} processes (bound 0), "
            f"{(after.rss - before.rss) / 2**20:+.1f} MiB RSS (bound {MAX_RSS // 2**20} MiB)"
        )
        if bad:
            print(f"  {len(bad)} versions not completed: {bad[:5]}")
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
