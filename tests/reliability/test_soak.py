"""Soak, reduced form: 100 small versions through a real server's scheduler; after a warm-up
of 20, the server gains no process and at most a few open files, threads and MiB of RSS
(bounds in benchmarks/bench_soak.py, whose full form runs 1,000 in `make bench`)."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_soak import MAX_FDS, MAX_RSS, MAX_THREADS, soak

from assay import hub
from tests.conftest import Server

N = 100


def test_a_hundred_jobs_leave_no_processes_files_or_memory_behind(
    home: Path, server: Server, tmp_path: Path
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    before, after, bad = soak(server.process.pid, tmp_path, N)
    print(f"\nafter warm-up: {before}\nafter {N}: {after}")
    assert bad == []
    assert len(hub.get_job("soak").versions()) == N
    assert after.children == before.children == 0
    assert after.fds - before.fds <= MAX_FDS
    assert after.threads - before.threads <= MAX_THREADS
    assert after.rss - before.rss <= MAX_RSS
