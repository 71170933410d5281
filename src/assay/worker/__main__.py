"""``python -m assay.worker SPEC.json``: materialise inputs, run the launch file, record usage.

The script runs as a child in this process group with resource limits and a scrubbed
environment; its output goes to the worker's stdout, which the backend points at the task's
log. The worker's exit code is the script's (128+N when a signal killed it), and
``_worker.json`` in the output directory records exit status and resource usage.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

from assay.core.errors import AssayError
from assay.core.names import check_path
from assay.core.scripts import script_env
from assay.formats import INDEX
from assay.storage import locations
from assay.storage.blobs import BlobStore
from assay.worker import runtime_env
from assay.worker.sandbox import Sandbox, not_dumpable
from assay.worker.spec import RESULT_FILE, TaskSpec


def materialise(
    store: BlobStore, entries: list[list[Any]], root: Path, *, link: bool, index: bool = False
) -> None:
    """Put a commit's files under ``root``: copies; links to local blobs (``link``); or, with
    ``index``, only an index of them (see ``formats.Files``) when every blob is local."""
    root.mkdir(parents=True, exist_ok=True)
    if index:
        places = {path: store.local_path(sha) for path, sha, _size in entries}
        if all(p is not None for p in places.values()):
            for path in places:
                check_path(path)
            (root / INDEX).write_text(json.dumps(places))
            return
    made: set[Path] = set()
    for path, sha, _size in entries:
        try:  # committed paths were checked already; a lexical check again costs no syscalls
            check_path(path)
        except AssayError:
            raise SystemExit(f"refusing to write {path!r} outside {root}") from None
        target = root / path
        if target.parent not in made:
            target.parent.mkdir(parents=True, exist_ok=True)
            made.add(target.parent)
        local = store.local_path(sha) if link else None
        if local is not None:
            os.symlink(local, target)
            continue
        with store.open(sha) as src, open(target, "wb") as dst:
            shutil.copyfileobj(src, dst, 1024 * 1024)


def copy_location(spec: TaskSpec, location: str, root: Path) -> str:
    """Copy a storage location, checking it again now that it is read; return its hash."""
    real = locations.check(location, spec.storage_roots, embedded=spec.embedded)
    root.mkdir(parents=True, exist_ok=True)
    for rel, src in locations.files(real):
        target = root / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(src, target)
    return locations.content_hash(root)


# Up to this many linked input files, the sandbox names each one; a larger dataset gets read
# access to stored files by their hash (SHA-256 names nobody can guess; no listing).
PER_FILE_RULES = 20_000


def _sandbox(spec: TaskSpec, store: BlobStore, work: Path, python: str) -> Sandbox:
    """The script's sandbox: its directory, the caches it is told about, its runtime, and
    (for built-in evaluators reading stored files in place) exactly its input blobs."""
    writable = []
    for name in ("ASSAY_DECODE_CACHE", "ASSAY_LLM_CACHE"):
        if spec.env.get(name):
            Path(spec.env[name]).mkdir(parents=True, exist_ok=True)
            writable.append(Path(spec.env[name]))
    readable = []
    if python != sys.executable:  # a runtime: its environment and the Python it was made from
        readable += [Path(python).parent.parent, Path(os.path.realpath(python)).parent.parent]
    files: set[str] = set()
    if spec.link_inputs:
        for entries in spec.inputs.values():
            for _path, sha, _size in entries:
                local = store.local_path(sha)
                if local is not None:
                    files.add(local)
    blobs: list[Path] = []
    if len(files) > PER_FILE_RULES:  # ~0.1 ms a rule: past this, read by hash, never list
        files, blobs = set(), [Path(store.root) / "blobs"]
    return Sandbox(
        workdir=work,
        writable=writable,
        readable=readable,
        files=[Path(f) for f in sorted(files)],
        read_by_name=blobs,
        memory=spec.memory,
        cpu_seconds=spec.cpu_seconds,
    )


def run(spec: TaskSpec) -> int:
    work = Path(spec.workdir)
    output = work / "output"
    output.mkdir(parents=True, exist_ok=True)
    store = BlobStore(spec.storage_url)
    started = time.monotonic()
    print(f"[assay] preparing inputs in {work}", flush=True)
    hashes = {}
    for name in sorted({"code", "model", "data", *spec.inputs, *spec.locations}):
        if name in spec.locations:
            try:
                hashes[name] = copy_location(spec, spec.locations[name], work / name)
            except AssayError as exc:
                print(f"[assay] cannot read the {name} location: {exc.message}", flush=True)
                return 66  # EX_NOINPUT
        else:
            materialise(
                store,
                spec.inputs.get(name, []),
                work / name,
                link=spec.link_inputs,
                index=spec.link_inputs and name == "data",
            )
    n_files = sum(len(v) for v in spec.inputs.values())
    print(f"[assay] {n_files} input files ready in {time.monotonic() - started:.2f} s", flush=True)
    python = sys.executable
    if spec.runtime is not None:
        try:
            python = str(runtime_env.ensure(spec.runtime, Path(spec.runtime_cache)))
        except runtime_env.RuntimeInstallError as exc:
            message = f"runtime {spec.runtime['ref']}: {exc}"
            print(f"[assay] {message}", flush=True)
            (output / RESULT_FILE).write_text(json.dumps({"message": message}))
            return 78  # EX_CONFIG
        print(f"[assay] in runtime {spec.runtime['ref']}", flush=True)
    if spec.evaluator is None:  # the team's own launch file
        argv = [python, spec.launch]
    else:  # a built-in evaluator, run in the same limited child as a script would be
        (work / "params.json").write_text(json.dumps(spec.params))
        argv = [
            python,
            "-m",
            "assay.evaluators.runner",
            f"--evaluator={spec.evaluator}",
            f"--stage={spec.stage}",
            f"--shard={spec.shard}",
            f"--shards={spec.shards}",
            f"--params={work / 'params.json'}",
            f"--shards_dir={work / 'shards'}",
        ]
    argv += [f"--model_url={work / 'model'}", f"--data_url={work / 'data'}"]
    if spec.evaluator is None:
        argv += [f"--{k}={v}" for k, v in spec.params.items()]
    env = script_env(work, spec.env)
    env["TMPDIR"] = str(work / "tmp")  # /tmp is outside the sandbox
    (work / "tmp").mkdir(exist_ok=True)
    (work / "code").mkdir(exist_ok=True)
    sandbox = _sandbox(spec, store, work, python)
    sandbox.prepare()
    print(f"[assay] sandbox: {sandbox.describe()}", flush=True)
    for note in sandbox.notes:
        print(f"[assay] sandbox: {note}", flush=True)
    print(f"[assay] running {' '.join(argv[1:])}", flush=True)
    child = subprocess.Popen(argv, cwd=work / "code", env=env, preexec_fn=sandbox.enter)

    def forward(signum: int, _frame: Any) -> None:
        child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    try:
        _, status, usage = os.wait4(child.pid, 0)
    finally:
        sandbox.close()  # kills whatever the script left running in its cgroup
    code = os.waitstatus_to_exitcode(status)
    result = {
        "exit_code": code,
        "signal": -code if code < 0 else None,
        "cpu_seconds": usage.ru_utime + usage.ru_stime,
        "peak_memory": usage.ru_maxrss * 1024,
        "wall_seconds": time.monotonic() - started,
        "location_sha256": hashes,
    }
    (output / RESULT_FILE).write_text(json.dumps(result))
    return 128 - code if code < 0 else code


def watch_parent(parent: int, interval: float = 0.5) -> None:
    """Once ``parent`` (the scheduler's process) is gone, kill this process group: the worker
    and the script. A scheduler that comes back retries the task; a run left behind would be
    a duplicate of that retry, holding resources nobody accounts for."""

    def loop() -> None:
        while os.getppid() == parent:
            time.sleep(interval)
        print("[assay] the scheduler's process is gone; stopping this task", flush=True)
        os.killpg(os.getpgid(0), signal.SIGKILL)

    threading.Thread(target=loop, name="assay-parent-watch", daemon=True).start()


def main() -> None:
    parent = os.environ.pop("ASSAY_PARENT_PID", "")
    if parent.isdigit():
        watch_parent(int(parent))
    not_dumpable()  # storage credentials are about to be in this process
    path = Path(sys.argv[1])
    spec = TaskSpec(**json.loads(path.read_text()))
    path.unlink()  # the script must not find where storage lives
    os.environ.update(spec.storage_env)  # this process only; the script's env is built anew
    sys.exit(run(spec))


if __name__ == "__main__":
    main()
