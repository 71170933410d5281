"""Several servers on one database (the way a team scales the API out): they start together
without racing each other's migrations, and their schedulers share one pool's capacity and
run every queued task exactly once. Under TEST_DATABASE=postgresql this is PostgreSQL's
concurrency (row locks on the pools while admitting, an advisory lock around migrations);
on SQLite, its whole-database write lock."""

from __future__ import annotations

import itertools
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from assay import hub
from tests.conftest import Server, backing_env, start_server
from tests.integration.jobs.conftest import make_assets, new_job

SERVERS = 3
VERSIONS = 6


def _stop(servers: list[Server]) -> None:
    for srv in servers:
        srv.process.terminate()
    for srv in servers:
        srv.process.wait(timeout=30)


def test_servers_on_one_database_share_the_pool_and_run_each_task_once(
    home: Path, tmp_path: Path, postgres: object, s3: object
) -> None:
    shared = tmp_path / "shared-home"
    shared.mkdir()
    extra = backing_env(postgres, s3)
    # All start at once on an empty database: one of them migrates, the others wait.
    with ThreadPoolExecutor(SERVERS) as pool:
        servers = list(pool.map(lambda _: start_server(shared, extra), range(SERVERS)))
    try:
        admin = (shared / "admin.key").read_text().strip()
        assert all(s.admin_key == admin for s in servers)
        hub.login(host=servers[0].url, api_key=admin)
        make_assets(tmp_path)
        hub.create_pool("one", cpu=1, memory="1GiB")
        job = new_job("shared", params={"sleep": 0.5}, pool="one")
        for i in range(1, VERSIONS):  # through every server's API
            hub.login(host=servers[i % SERVERS].url, api_key=admin)
            job = hub.get_job("shared")
            job.create_version()
        versions = [hub.get_version(f"shared:V{n:04d}").wait(timeout=240) for n in range(1, 7)]
        assert [v.status for v in versions] == ["Completed"] * VERSIONS, [
            v.data["message"] for v in versions
        ]
        assert [t["attempts"] for v in versions for t in v.tasks()] == [1] * VERSIONS
        evaluations = hub.list_evaluation("f/m")
        assert sorted(e["source"] for e in evaluations) == [
            f"shared:V{n:04d}" for n in range(1, VERSIONS + 1)
        ]
        # Capacity 1 across all schedulers: no two versions ran at the same time.
        order = sorted(versions, key=lambda v: v.data["startedAt"])
        for a, b in itertools.pairwise(order):
            assert a.data["finishedAt"] <= b.data["startedAt"], (a.name, b.name)
    finally:
        _stop(servers)
