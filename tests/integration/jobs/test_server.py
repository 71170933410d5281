"""Jobs on a real `assay server` process, whose scheduler runs everything queued."""

from __future__ import annotations

import itertools
import os
import signal
import subprocess
from pathlib import Path

from assay import hub
from tests.conftest import ASSAY, Server, clean_env, start_server
from tests.integration.jobs.conftest import make_assets, new_job
from tests.support.waiting import until


def test_server_runs_job_kill9_worker_is_retried(
    home: Path, tmp_path: Path, server: Server
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    v = new_job("k", params={"sleep": 2, "lines": 4}).get_version("V0001")
    task = until(
        lambda: next((t for t in v.tasks() if t["pid"] and t["state"] == "Running"), None),
        what="a running task",
    )
    until(lambda: "line 0" in v.logs(), what="the script to start")
    os.kill(task["pid"], signal.SIGKILL)
    v.wait(timeout=120)
    assert v.status == "Completed", v.data["message"]
    tasks = v.tasks()
    assert tasks[0]["attempts"] == 2
    logs = v.logs()
    assert "start attempt 1" in logs and "start attempt 2" in logs
    assert len(hub.list_evaluation("f/m")) == 1


def test_terminate_running_keeps_partial_results(
    home: Path, tmp_path: Path, server: Server
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    v = new_job("t", params={"sleep": 60, "early": "yes"}).get_version("V0001")
    until(lambda: "start attempt 1" in v.logs(), what="the script to start")
    pid = v.tasks()[0]["pid"]
    v.terminate()
    assert v.status == "Terminated"
    until(lambda: v.refresh().data["partial"], timeout=30, what="partial metrics")
    assert v.metrics == {"seen": 1}
    until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, what="the worker to stop")
    assert hub.list_evaluation() == []


def test_queue_order_on_a_pool_of_one(home: Path, tmp_path: Path, server: Server) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    hub.create_pool("one", cpu=1, memory="1GiB")
    job = new_job("q", params={"sleep": 1}, pool="one")
    first = job.get_version("V0001")
    until(lambda: first.refresh().status == "Running", what="V0001 to hold the pool")
    second = job.create_version()
    third = job.create_version(priority=5)
    fourth = job.create_version(priority=0)  # settings are copied from V0003 otherwise
    assert second.refresh().data["queuePosition"] == 2  # behind V0003's higher priority
    assert third.refresh().data["queuePosition"] == 1
    pool = next(p for p in hub.list_pools() if p["name"] == "one")
    assert pool["queued"] + pool["running"] == 4
    for v in (fourth, second, third):
        v.wait(timeout=120)
    first.refresh()
    order = sorted([first, second, third, fourth], key=lambda v: v.data["startedAt"])
    assert [v.name for v in order] == ["V0001", "V0003", "V0002", "V0004"]
    # Capacity 1: no two ran at the same time.
    for a, b in itertools.pairwise(order):
        assert a.data["finishedAt"] <= b.data["startedAt"]


def test_logs_follow_live(home: Path, tmp_path: Path, server: Server) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    new_job("l", params={"sleep": 3, "lines": 6})
    env = {**clean_env(home), "ASSAY_HOST": server.url, "ASSAY_API_KEY": server.admin_key}
    proc = subprocess.Popen(
        [ASSAY, "logs", "l:V0001", "--follow"], env=env, stdout=subprocess.PIPE, text=True
    )
    assert proc.stdout is not None
    seen_while_running = False
    lines = []
    for line in proc.stdout:
        lines.append(line)
        if line.startswith("line 0"):
            seen_while_running = hub.get_version("l:V0001").status == "Running"
    assert proc.wait(timeout=60) == 0
    assert seen_while_running, "the first line arrived only after the version ended"
    assert any(line.startswith("line 5") for line in lines) and lines[-1].startswith("done")


def test_server_restart_finishes_everything_exactly_once(home: Path, tmp_path: Path) -> None:
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    srv = start_server(server_home)
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        make_assets(tmp_path)
        hub.create_pool("one", cpu=1)
        job = new_job("r", params={"sleep": 3, "lines": 3}, pool="one")
        job.create_version()
        job.create_version()
        first = job.get_version("V0001")
        until(
            lambda: first.refresh().status == "Running" and "line 0" in first.logs(),
            what="V0001 to run",
        )
        srv.process.send_signal(signal.SIGKILL)  # no goodbye: leases and tasks left behind
        srv.process.wait(timeout=10)
    finally:
        if srv.process.poll() is None:
            srv.process.kill()
    srv = start_server(server_home)
    try:
        hub.login(host=srv.url, api_key=(server_home / "admin.key").read_text().strip())
        versions = [hub.get_version(f"r:V000{i}") for i in (1, 2, 3)]
        for v in versions:
            v.wait(timeout=180)
        assert [v.status for v in versions] == ["Completed"] * 3, [
            v.data["message"] for v in versions
        ]
        evaluations = hub.list_evaluation("f/m")
        assert sorted(e["source"] for e in evaluations) == ["r:V0001", "r:V0002", "r:V0003"]
        assert versions[0].tasks()[0]["attempts"] == 2
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=30)


def test_cli_against_server_and_delete_running(home: Path, tmp_path: Path, server: Server) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    env = {**clean_env(home), "ASSAY_HOST": server.url, "ASSAY_API_KEY": server.admin_key}
    res = subprocess.run(
        [
            ASSAY,
            "create",
            "job",
            "c",
            "--model",
            "f/m",
            "--dataset",
            "f/d",
            "--code",
            "s/e",
            "--launch",
            "eval.py",
            "--param",
            "mode=file",
            "--wait",
            "-o",
            "json",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert res.returncode == 0, res.stderr
    done = hub.get_version("c:V0001")
    assert done.status == "Completed" and done.metrics == {"accuracy": 0.5}
    res = subprocess.run(
        [ASSAY, "terminate", "c:V0001"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert res.returncode == 4 and "already Completed" in res.stderr
    # Deleting a running version stops its worker first.
    running = hub.get_job("c").create_version(params={"sleep": 60, "mode": "sdk"})
    until(lambda: "start attempt 1" in running.logs(), what="the script to start")
    pid = running.tasks()[0]["pid"]
    running.delete()
    until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, what="the worker to stop")
    assert [v.name for v in hub.get_job("c").versions()] == ["V0001"]


def test_graceful_stop_requeues_and_the_next_start_finishes(home: Path, tmp_path: Path) -> None:
    server_home = tmp_path / "server-home"
    server_home.mkdir()
    srv = start_server(server_home)
    try:
        hub.login(host=srv.url, api_key=srv.admin_key)
        make_assets(tmp_path)
        v = new_job("g", params={"sleep": 3, "lines": 3}).get_version("V0001")
        until(lambda: "line 0" in v.logs(), what="the script to run")
        pid = v.tasks()[0]["pid"]
        srv.process.terminate()  # SIGTERM, as a service manager would
        srv.process.wait(timeout=60)  # uvicorn re-raises SIGTERM once it has shut down
        until(lambda: not Path(f"/proc/{pid}").exists(), timeout=30, what="the worker to stop")
    finally:
        if srv.process.poll() is None:
            srv.process.kill()
    srv = start_server(server_home)
    try:
        hub.login(host=srv.url, api_key=(server_home / "admin.key").read_text().strip())
        done = hub.get_version("g:V0001").wait(timeout=120)
        assert done.status == "Completed", done.data["message"]
        assert done.tasks()[0]["attempts"] == 2
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=30)
