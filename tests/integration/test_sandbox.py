"""User code isolation on the local backend (issue 9, item 4): a hostile evaluation script
on a real server tries what such scripts try, and each attempt is prevented or contained.

The probe script reports each attempt as ``PROBE name: outcome`` in its log, so a failure
says exactly which wall gave way. See docs/reliability.md for what the sandbox promises.
"""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path

import httpx
import pytest

from assay import hub
from assay.worker.sandbox import Sandbox, landlock_abi, pids_hierarchy
from tests.conftest import Server, start_server

pytestmark = pytest.mark.skipif(
    landlock_abi() < 6, reason="the sandbox's promises need Landlock ABI 6 (Linux 6.12+)"
)

SECRET = "canary-secret-7d1f"  # in the server's environment only

PROBES = r"""
import json, os, socket, sys

args = dict(a[2:].split("=", 1) for a in sys.argv[1:] if a.startswith("--") and "=" in a)
home, server, outside = args["home"], int(args["server_pid"]), args["outside"]

def probe(name, attempt):
    try:
        result = attempt()
        print(f"PROBE {name}: ALLOWED {str(result)[:60]!r}", flush=True)
    except Exception as exc:  # what the wall said
        print(f"PROBE {name}: DENIED {type(exc).__name__}", flush=True)

def read(path):
    with open(path, "rb") as f:
        return f.read(64)

def write(path):
    with open(path, "w") as f:
        f.write("escaped")
    return path

def listen_bound():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen()
    return s.getsockname()

def listen_unbound():
    s = socket.socket()
    s.listen()
    return s.getsockname()

def memory():
    block = bytearray(3 * 1024**3)
    return len(block)

probe("database", lambda: read(os.path.join(home, "assay.db")))
probe("admin key", lambda: read(os.path.join(home, "admin.key")))
probe("home listing", lambda: os.listdir(home))
probe("server environ", lambda: read(f"/proc/{server}/environ"))
probe("worker environ", lambda: read(f"/proc/{os.getppid()}/environ"))
probe("server memory", lambda: read(f"/proc/{server}/mem"))
probe("shadow", lambda: read("/etc/shadow"))
probe("root home", lambda: os.listdir("/root"))
probe("write outside", lambda: write(outside))
probe("write tmp", lambda: write("/tmp/assay-sandbox-escape"))
probe("write parent", lambda: write(os.path.join(os.environ["HOME"], "..", "escape")))
probe("signal server", lambda: os.kill(server, 0))
probe("listen bound", listen_bound)
probe("listen unbound", listen_unbound)
probe("memory", memory)
probe("own workdir", lambda: write(os.path.join(os.environ["ASSAY_OUTPUT_DIR"], "ok.txt")))
probe("own tmp", lambda: write(os.path.join(os.environ["TMPDIR"], "ok.txt")))
probe("own data", lambda: read(os.path.join(args["data_url"], "d.txt")))
print("ENV " + json.dumps(dict(os.environ)), flush=True)
with open(os.path.join(os.environ["ASSAY_OUTPUT_DIR"], "metrics.json"), "w") as f:
    json.dump({"probed": 1}, f)
"""

FORK_BOMB = r"""
import os, time
first = os.getpid()
told = False
while True:
    try:
        os.fork()
    except OSError as exc:
        if os.getpid() == first and not told:
            print(f"fork refused: {exc.strerror}", flush=True)
            told = True
        time.sleep(0.01)
"""

CPU_SPIN = "while True:\n    pass\n"


@pytest.fixture
def hostile(tmp_path: Path) -> Server:
    home = tmp_path / "home"
    home.mkdir()
    srv = start_server(home, {"ASSAY_TEST_SECRET": SECRET})
    hub.login(host=srv.url, api_key=srv.admin_key)
    src = tmp_path / "src"
    src.mkdir()
    for name, text in (("probes.py", PROBES), ("bomb.py", FORK_BOMB), ("spin.py", CPU_SPIN)):
        (src / name).write_text(text)
    (src / "d.txt").write_text("data")
    (src / "w.bin").write_bytes(b"weights")
    hub.create_folder(type_="code", name="h").create_asset(name="c").create_commit(
        message="hostile", add=[str(src / n) for n in ("probes.py", "bomb.py", "spin.py")]
    )
    hub.create_folder(type_="model", name="h").create_asset(name="m").create_commit(
        message="w", add=[str(src / "w.bin")]
    )
    hub.create_folder(type_="dataset", name="h").create_asset(name="d").create_commit(
        message="d", add=[str(src / "d.txt")]
    )
    yield srv
    srv.process.terminate()
    srv.process.wait(timeout=15)


def _job(name: str, launch: str, **kwargs: object) -> hub.Version:
    job = hub.create_job(name=name, model="h/m", dataset="h/d", code="h/c", launch=launch, **kwargs)  # type: ignore[arg-type]
    return job.get_version("V0001").wait(timeout=180)


def _healthy(srv: Server) -> None:
    assert srv.process.poll() is None
    assert httpx.get(srv.url + "/api/v1/health", timeout=10).status_code == 200


def test_a_hostile_script_reaches_nothing_outside_its_directory(
    hostile: Server, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.txt"
    v = _job(
        "probe",
        "probes.py",
        memory="1GiB",
        params={
            "home": str(hostile.home),
            "server_pid": hostile.process.pid,
            "outside": str(outside),
        },
    )
    logs = v.logs()
    assert v.status == "Completed", (v.data["message"], logs)
    outcomes = dict(
        line[len("PROBE ") :].split(": ", 1) for line in logs.splitlines() if "PROBE " in line
    )
    walls = [
        "database",
        "admin key",
        "home listing",
        "server environ",
        "worker environ",
        "server memory",
        "shadow",
        "root home",
        "write outside",
        "write tmp",
        "write parent",
        "signal server",
        "listen bound",
        "memory",
    ]
    leaks = {name: outcomes.get(name) for name in walls if not outcomes[name].startswith("DENIED")}
    assert leaks == {}, logs
    # "listen unbound" is bound to an ephemeral port by the kernel without a bind() call,
    # which Landlock does not see: documented in docs/reliability.md, not asserted either way.
    for own in ("own workdir", "own tmp", "own data"):
        assert outcomes[own].startswith("ALLOWED"), (own, logs)
    assert not outside.exists() and not Path("/tmp/assay-sandbox-escape").exists()
    env = json.loads(next(line[4:] for line in logs.splitlines() if line.startswith("ENV ")))
    assert SECRET not in json.dumps(env)
    assert not {"ASSAY_DATABASE_URL", "ASSAY_HOME", "AWS_SECRET_ACCESS_KEY"} & set(env)
    assert "Landlock ABI" in logs and "pids cgroup" in logs
    _healthy(hostile)


def test_a_fork_bomb_is_contained_and_cleaned_up(hostile: Server) -> None:
    job = hub.create_job(name="bomb", model="h/m", dataset="h/d", code="h/c", launch="bomb.py")
    v = job.get_version("V0001")
    deadline = time.monotonic() + 150
    while "fork refused" not in v.logs() and time.monotonic() < deadline:
        time.sleep(0.5)
    # The bomb hit the limit (its first process saw fork fail), and the server answers.
    assert "fork refused: Resource temporarily unavailable" in v.logs()
    _healthy(hostile)
    v.terminate()
    assert v.refresh().status == "Terminated"
    # Nothing of the bomb is left: no process still runs the script.
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _bombs():
        time.sleep(0.2)
    assert _bombs() == []
    _healthy(hostile)
    assert hub.list_evaluation() == []


def test_cpu_time_is_limited(hostile: Server) -> None:
    v = _job("spin", "spin.py", timeout=3)
    assert v.status == "TimedOut", v.data["message"]
    assert "timeout of 3 s" in v.data["message"]
    _healthy(hostile)


def _bombs() -> list[int]:
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                cmdline = Path(entry.path, "cmdline").read_bytes()
            except OSError:
                continue
            if b"bomb.py" in cmdline:
                found.append(int(entry.name))
    return found


def test_a_large_input_is_read_by_name_and_never_listed(tmp_path: Path) -> None:
    """Past PER_FILE_RULES linked inputs, the sandbox grants stored files by their hash
    names: a file whose name the script was given opens; the directory does not list."""
    store = tmp_path / "blobs" / "ab"
    store.mkdir(parents=True)
    (store / "abc123").write_text("blob")
    work = tmp_path / "work"
    work.mkdir()
    box = Sandbox(workdir=work, read_by_name=[tmp_path / "blobs"])
    box.prepare()
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # the child reports what it could do, then leaves without cleanup
        os.close(read)
        box.enter()
        seen = []
        try:
            seen.append(Path(store / "abc123").read_text())
        except OSError as exc:
            seen.append(type(exc).__name__)
        try:
            seen.append(str(os.listdir(store)))
        except OSError as exc:
            seen.append(type(exc).__name__)
        os.write(write, json.dumps(seen).encode())
        os._exit(0)
    os.close(write)
    os.waitpid(pid, 0)
    box.close()
    with os.fdopen(read) as f:
        assert json.loads(f.read()) == ["blob", "PermissionError"]


def test_a_killed_workers_cgroup_and_what_escaped_into_it_are_reaped(tmp_path: Path) -> None:
    """A worker killed with SIGKILL cannot clean up: the next sandbox made on the machine
    kills what its script left (a process that left its process group) and removes it."""
    parent = pids_hierarchy()
    if parent is None or not os.access(parent, os.W_OK):
        pytest.skip("no writable pids cgroup here")
    dead = subprocess.Popen(["true"])
    dead.wait()
    abandoned = parent / f"assay-task-{dead.pid}-1"
    abandoned.mkdir()
    escaped = subprocess.Popen(["sleep", "300"], start_new_session=True)
    (abandoned / "cgroup.procs").write_text(str(escaped.pid))
    box = Sandbox(workdir=tmp_path)
    box.prepare()
    box.close()
    assert escaped.wait(timeout=10) == -9
    assert not abandoned.exists()
