"""The Ray backend on a real local Ray cluster: a head node (no CPUs of its own: it runs the
Ray Client server and the log sink) and two worker nodes of one CPU each, every node its own
`ray start` process group on loopback, so a test can kill one node whole. Runtimes reach
the nodes as Ray's own runtime_env (uv), each built by the node's Ray agent."""

from __future__ import annotations

import contextlib
import os
import re
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import psutil
import pytest

from assay import errors, hub
from assay.backends import ray as ray_backend
from tests.conftest import Server, free_port
from tests.integration.evaluators.helpers import commit_dir, digits_prepare
from tests.integration.jobs.conftest import make_assets, new_job
from tests.integration.jobs.test_runtimes import SCRIPT as RUNTIME_SCRIPT
from tests.integration.jobs.test_runtimes import _wheel
from tests.support.waiting import until

RAY = str(Path(sys.executable).parent / "ray")
NODE = re.compile(r"\[assay\] on Ray node ([0-9a-f]+) \(.*\), in (\S+)")


@dataclass
class Cluster:
    address: str  # the Ray Client address
    env: dict[str, str]
    temp: str
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)  # `ray start`s

    @property
    def groups(self) -> list[int]:  # each node's process group
        return [p.pid for p in self.procs]

    def stop(self) -> None:
        for proc in self.procs:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        # Anything of this cluster that left its group (a worker's own session) dies too.
        for p in psutil.process_iter(["cmdline"]):
            if any(self.temp in part for part in p.info["cmdline"] or []):
                with contextlib.suppress(psutil.Error):
                    p.kill()
        # Its runtime_env holds a copy of the whole Python environment (tens of thousands of
        # files): removed in the background rather than making the suite wait for it.
        gone = f"{self.temp}.gone"
        os.rename(self.temp, gone)
        subprocess.Popen(["rm", "-rf", gone], start_new_session=True)


def _node(cluster: Cluster, *args: str) -> None:
    """Start one node as its own process group and wait until it has joined; a node that
    timed out joining (Ray gives a raylet 30 s, little on a loaded machine) is tried again."""
    for _attempt in range(3):
        log = Path(cluster.temp) / f"node-{len(list(Path(cluster.temp).glob('node-*')))}.log"
        cmd = [RAY, "start", "--block", "--disable-usage-stats", f"--temp-dir={cluster.temp}"]
        with open(log, "wb") as out:
            proc = subprocess.Popen(
                [*cmd, *args],
                env=cluster.env,
                start_new_session=True,
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        cluster.procs.append(proc)
        deadline = time.monotonic() + 120
        while proc.poll() is None and time.monotonic() < deadline:
            if "Ray runtime started" in log.read_text():
                return
            time.sleep(0.5)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        cluster.procs.remove(proc)
    raise AssertionError("a Ray node did not start:\n" + _logs(cluster))


def _logs(cluster: Cluster) -> str:
    return "\n".join(
        f"== {p.name}\n{p.read_text()[-3000:]}" for p in sorted(Path(cluster.temp).glob("node-*"))
    )


def start_cluster(workers: int = 2, cpus: int = 1) -> Cluster:
    """A head node (no CPUs) and ``workers`` nodes of ``cpus`` CPUs on loopback (the bench
    starts one too)."""
    temp = tempfile.mkdtemp(prefix="assay-ray-test-", dir="/tmp")  # short: Ray's socket paths
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ASSAY_", "RAY_"))}
    env.update(
        PYTHONUNBUFFERED="1",  # `ray start` says it has started as it happens
        RAY_USAGE_STATS_ENABLED="0",
        # A killed node is declared dead within seconds, not the default half minute (and a
        # slow node on a loaded machine is not declared dead at once).
        RAY_health_check_initial_delay_ms="1000",
        RAY_health_check_period_ms="1000",
        RAY_health_check_timeout_ms="3000",
        RAY_health_check_failure_threshold="5",
        RUNTIME_ENV_RETRY_TIMES="1",  # a runtime that does not install is tried once
    )
    port, client = free_port(), free_port()
    c = Cluster(f"ray://127.0.0.1:{client}", env, temp)
    try:
        common = ["--node-ip-address=127.0.0.1", "--object-store-memory=100000000"]
        _node(
            c,
            "--head",
            f"--port={port}",
            f"--ray-client-server-port={client}",
            f"--dashboard-port={free_port()}",
            f"--dashboard-agent-listen-port={free_port()}",
            "--include-dashboard=false",
            "--num-cpus=0",
            *common,
        )
        for _ in range(workers):  # one at a time: joining is the slow part on two cores
            _node(
                c,
                f"--address=127.0.0.1:{port}",
                f"--dashboard-agent-listen-port={free_port()}",
                f"--num-cpus={cpus}",
                *common,
            )
    except BaseException:
        c.stop()
        raise
    return c


@pytest.fixture(scope="module")
def cluster() -> Iterator[Cluster]:
    c = start_cluster()
    try:
        yield c
    finally:
        c.stop()


def _ray_pool(cluster: Cluster, cpu: float | None = 2) -> None:
    hub.create_pool("ray", cpu=cpu, backend="ray", address=cluster.address)


def _workers(workdir: str) -> list[psutil.Process]:
    """The worker (and its script) of the Ray task running in ``workdir`` on a node."""
    found = []
    for p in psutil.process_iter(["cmdline", "cwd"]):
        try:
            if workdir in " ".join(p.info["cmdline"] or []) or (p.info["cwd"] or "").startswith(
                workdir
            ):
                found.append(p)
        except psutil.Error:
            pass
    return found


def test_pool_addresses_are_checked(home: Path) -> None:
    for bad in ("http://x:1", "ray://host", "ray://h:99999", ""):
        with pytest.raises(errors.InvalidInput, match=r"Ray address|needs the cluster"):
            hub.create_pool("r", cpu=1, backend="ray", address=bad)
    with pytest.raises(errors.InvalidInput, match="takes no --address"):
        hub.create_pool("r", cpu=1, address="ray://h:10001")
    with pytest.raises(errors.InvalidInput, match="unknown backend"):
        hub.create_pool("r", cpu=1, backend="k8s")


def test_sharded_job_runs_across_nodes_with_the_same_results(
    cluster: Cluster, server: Server, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    digits_prepare().prepare(tmp_path / "model", tmp_path / "data", test_size=0.5)
    commit_dir("model", "digits", "logreg", tmp_path / "model", monkeypatch)
    commit_dir("dataset", "digits", "test", tmp_path / "data", monkeypatch)
    _ray_pool(cluster, cpu=None)  # the cluster's CPUs
    pool = next(p for p in hub.list_pools() if p["name"] == "ray")
    assert (pool["backend"], pool["address"], pool["cpu"]) == ("ray", cluster.address, 2)

    def job(name: str, pool: str, shards: int) -> hub.Version:
        return hub.create_job(
            name=name,
            type="image-classification",
            model="digits/logreg",
            dataset="digits/test",
            params={"shards": shards},
            pool=pool,
        ).get_version("V0001")

    on_ray, local = job("r", "ray", 2), job("l", "default", 2)  # the same job, both pools
    for v in (on_ray, local):
        v.wait(timeout=240)
        assert v.status == "Completed", v.data["message"]
    assert on_ray.metrics == local.metrics
    tasks = on_ray.tasks()
    assert len(tasks) == 3 and all(t["state"] == "Completed" for t in tasks)
    nodes = [NODE.search(on_ray.logs(task=i)) for i in range(3)]
    assert all(nodes), [on_ray.logs(task=i) for i in range(3)]
    assert nodes[0].group(1) != nodes[1].group(1)  # type: ignore[union-attr]
    assert "[assay] running" in on_ray.logs(task=0)
    assert len(hub.list_evaluation("digits/logreg")) == 2


def test_logs_while_running_and_terminate(cluster: Cluster, server: Server, tmp_path: Path) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    _ray_pool(cluster)
    v = new_job("t", params={"sleep": 120, "lines": 120}, pool="ray").get_version("V0001")
    until(lambda: "line 1" in v.logs(), what="the script's lines in assay logs")
    assert v.refresh().status == "Running"
    match = NODE.search(v.logs())
    assert match is not None
    workers = until(lambda: _workers(match.group(2)), what="the worker on its node")
    v.terminate()
    assert v.status == "Terminated"
    until(
        lambda: not any(p.is_running() and p.status() != "zombie" for p in workers),
        timeout=60,
        what="the worker and its script to stop",
    )
    until(lambda: v.tasks()[0]["state"] == "Terminated", what="the task to end")
    until(lambda: not Path(match.group(2)).exists(), what="its directory on the node to go")
    assert hub.list_evaluation() == []


def test_lost_node_is_retried_and_results_land_once(
    cluster: Cluster, server: Server, tmp_path: Path
) -> None:
    hub.login(host=server.url, api_key=server.admin_key)
    make_assets(tmp_path)
    _ray_pool(cluster)
    v = new_job("k", params={"sleep": 6, "lines": 6}, pool="ray").get_version("V0001")
    until(lambda: "line 0" in v.logs(), what="the script to start")
    match = NODE.search(v.logs())
    assert match is not None
    workers = until(lambda: _workers(match.group(2)), what="the worker on its node")
    raylet = next(
        p for p in workers[0].parents() if p.name() == "raylet" or "raylet" in p.cmdline()[0]
    )
    group = os.getpgid(raylet.pid)
    assert group in cluster.groups
    os.killpg(group, signal.SIGKILL)  # the whole node at once
    v.wait(timeout=120)
    assert v.status == "Completed", v.data["message"]
    task = v.tasks()[0]
    assert task["attempts"] == 2
    logs = v.logs()
    assert "start attempt 1" in logs and "start attempt 2" in logs
    second = NODE.findall(logs)
    assert len(second) == 2 and second[0][0] != second[1][0]  # retried on the other node
    assert not any(Path(work).exists() for _node, work in second)  # nothing left on nodes
    assert len(hub.list_evaluation("f/m")) == 1


def test_runtimes_are_ray_runtime_envs(cluster: Cluster, server: Server, tmp_path: Path) -> None:
    """A runtime with a pinned package the base environment lacks is importable by a job on
    the Ray pool, in the environment Ray's agent built (the worker builds none of its own);
    one that cannot install fails its version with the installer's message, once."""
    hub.login(host=server.url, api_key=server.admin_key)
    src = tmp_path / "src"
    src.mkdir()
    (src / "run.py").write_text(RUNTIME_SCRIPT)
    (src / "a.txt").write_text("a")
    for kind, name, file in (("model", "m", "a.txt"), ("dataset", "d", "a.txt")):
        hub.create_folder(type_=kind, name="f").create_asset(name=name).create_commit(
            message=kind, add=[str(src / file)]
        )
    hub.create_folder(type_="code", name="s").create_asset(name="e").create_commit(
        message="c", add=[str(src / "run.py")]
    )
    wheels = _wheel(tmp_path / "wheels", 0.25)
    hub.create_runtime("tiny", f"--no-index\n--find-links {wheels}\nassaytiny==1.0\n")
    hub.create_runtime("broken", "--no-index\nno-such-package-anywhere==9.9\n")
    _ray_pool(cluster)

    def job(name: str, runtime: str) -> hub.Version:
        return hub.create_job(
            name=name,
            model="f/m",
            dataset="f/d",
            code="s/e",
            launch="run.py",
            runtime=runtime,
            pool="ray",
        ).get_version("V0001")

    good, bad = job("good", "tiny"), job("bad", "broken")  # on the two nodes at once
    for v in (good, bad):
        v.wait(timeout=600)
    assert good.status == "Completed", good.data["message"] + good.logs()
    assert good.metrics == {"tiny": 0.25} and good.data["runtime"] == "tiny:1"
    logs = good.logs()
    assert "runtime tiny:1 is this task's Ray runtime_env" in logs
    assert "in runtime tiny:1" in logs and "building runtime" not in logs
    imported = re.search(r"assaytiny from (\S+)", logs)
    assert imported is not None and "/runtime_resources/uv/" in imported.group(1), logs

    assert bad.status == "Failed"
    message = bad.data["message"]
    assert message.startswith("runtime broken:1: installing the requirements failed"), message
    assert "no-such-package-anywhere" in message
    assert bad.data["runtime"] == "broken:1"
    assert bad.tasks()[0]["attempts"] == 1  # not retried: it would fail the same way


def test_runtime_env_of_a_runtime_version() -> None:
    """The runtime_env is the runtime's requirement lines (options included) for uv; a runtime
    for another Python than the cluster's (the server's: Ray Client insists they match) has
    none, and the node's worker builds it instead."""
    here = f"{sys.version_info[0]}.{sys.version_info[1]}"
    requirements = "--index-url https://mirror.example/simple\n\nassaytiny==1.0\n"
    for python in (None, here):
        runtime = {"ref": "r:1", "key": "k", "python": python, "requirements": requirements}
        assert ray_backend.runtime_env(runtime) == {
            "uv": {"packages": ["--index-url https://mirror.example/simple", "assaytiny==1.0"]}
        }
    other = {"ref": "r:2", "key": "k", "python": "3.9", "requirements": requirements}
    assert ray_backend.runtime_env(other) is None
    assert ray_backend.runtime_env(None) is None
