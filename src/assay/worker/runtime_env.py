"""Runtimes on the local backend: each runtime version becomes a virtual environment, built
once with uv and cached under its key (a hash of its Python version and requirements), so
versions that share a runtime version share the environment.

The environment is layered on Assay's own: a ``.pth`` file appends Assay's site-packages
after the runtime's, so a runtime adds packages (and overrides versions) while built-in
evaluators and ``from assay import report`` keep working. With another Python version than
Assay's, only the ``assay`` package itself is made visible (its report module needs nothing
else). Builds run under a file lock, into place only when complete (a ``.ready`` mark), and
uv never downloads a Python: an interpreter it cannot find is an install error.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import site
import subprocess
import sys
from pathlib import Path
from typing import Any

TAIL = 3000  # characters of the installer's output kept in the failure message


class RuntimeInstallError(Exception):
    """The runtime's environment could not be built; the message is the installer's."""


def _run(cmd: list[str], env: dict[str, str], what: str) -> None:
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, check=False)
    print(done.stdout + done.stderr, end="", flush=True)  # the task's log shows it all
    if done.returncode != 0:
        raise RuntimeInstallError(f"{what} failed: {(done.stderr or done.stdout).strip()[-TAIL:]}")


def _base_paths(python: Path) -> list[str]:
    """What the runtime's interpreter should see of Assay's environment."""
    version = subprocess.run(
        [str(python), "-c", "import sys; print('%d.%d' % sys.version_info[:2])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    if version == f"{sys.version_info[0]}.{sys.version_info[1]}":
        return [p for p in site.getsitepackages() if os.path.isdir(p)]
    import assay

    return [str(Path(assay.__file__).resolve().parent.parent)]


def ensure(runtime: dict[str, Any], root: Path) -> Path:
    """The interpreter of ``runtime``'s environment, built now if it is not cached; with
    ``provided``, the backend already runs this worker in it (Ray's runtime_env)."""
    if runtime.get("provided"):
        return Path(sys.executable)
    from uv import find_uv_bin

    key = str(runtime["key"])
    target = root / key
    python = target / "bin" / "python"
    if (target / ".ready").exists():
        return python
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    with open(root / f"{key}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another task may be building the same one
        if (target / ".ready").exists():
            return python
        shutil.rmtree(target, ignore_errors=True)  # a build that died half-way
        print(f"[assay] building runtime {runtime['ref']} (cached for later tasks)", flush=True)
        uv = find_uv_bin()
        env = {
            "PATH": os.environ.get("PATH", os.defpath),
            "HOME": str(root),
            "UV_PYTHON_DOWNLOADS": "never",
            "UV_CACHE_DIR": str(root / ".uv-cache"),
            "UV_NO_CONFIG": "1",
        }
        try:
            wanted = runtime.get("python") or sys.executable
            _run(
                [uv, "venv", "--quiet", "--python", wanted, str(target)],
                env,
                "creating the environment",
            )
            requirements = target / "requirements.txt"
            requirements.write_text(runtime["requirements"])
            _run(
                [uv, "pip", "install", "--python", str(python), "-r", str(requirements)],
                env,
                "installing the requirements",
            )
            purelib = subprocess.run(
                [str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                capture_output=True,
                text=True,
                check=True,
            ).stdout.strip()
            # ``import`` lines of a .pth run at start-up: addsitedir also reads the .pth files
            # of Assay's site-packages (its editable install is one).
            lines = [f"import site; site.addsitedir({p!r})" for p in _base_paths(python)]
            Path(purelib, "_assay_base.pth").write_text("\n".join(lines) + "\n")
        except BaseException:
            shutil.rmtree(target, ignore_errors=True)
            raise
        (target / ".ready").touch()
    return python
