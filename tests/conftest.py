"""Shared fixtures: an isolated ASSAY_HOME per test, the CLI in-process and as a real
subprocess, and a real `assay server` process on a loopback port."""

from __future__ import annotations

import contextlib
import io
import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from assay import hub
from assay.core.config import get_settings
from assay.sdk import embedded

ROOT = Path(__file__).resolve().parent.parent
ASSAY = str(ROOT / ".venv" / "bin" / "assay")


# `TEST_DATABASE=postgresql TEST_STORAGE=s3 pytest …` runs the chosen tests again on a real
# PostgreSQL server and a real S3-compatible server (see the Makefile's test target); the
# default is the embedded SQLite and local files.
DATABASE = os.environ.get("TEST_DATABASE", "sqlite")
STORAGE = os.environ.get("TEST_STORAGE", "local")
# What a test's own instance needs in subprocesses too.
CARRIED = ("ASSAY_DATABASE_URL", "ASSAY_STORAGE_URL")


def clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ASSAY_")}
    env.update({k: os.environ[k] for k in CARRIED if k in os.environ})
    env["ASSAY_HOME"] = str(home)
    env["COLUMNS"] = "200"
    return env


@pytest.fixture(scope="session")
def postgres() -> Iterator[object | None]:
    """The session's PostgreSQL server when TEST_DATABASE=postgresql, else None."""
    if DATABASE != "postgresql":
        yield None
        return
    from tests.support.postgres import PostgresServer

    server = PostgresServer()
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="session")
def s3(tmp_path_factory: pytest.TempPathFactory) -> Iterator[object | None]:
    """The session's S3-compatible server when TEST_STORAGE=s3, else None."""
    if STORAGE != "s3":
        yield None
        return
    from tests.support.s3 import S3Server

    server = S3Server(tmp_path_factory.mktemp("s3") / "moto.log")
    server.start()
    os.environ.update(server.env)  # AWS variables, as a deployment would set them
    yield server
    server.stop()


def backing_env(postgres: object, s3: object) -> dict[str, str]:
    """ASSAY_ settings of a new instance on this run's database and storage servers."""
    env = {}
    if postgres is not None:
        env["ASSAY_DATABASE_URL"] = postgres.create_database()  # type: ignore[attr-defined]
    if s3 is not None:
        env["ASSAY_STORAGE_URL"] = s3.new_prefix()  # type: ignore[attr-defined]
    return env


def use_home(mp: pytest.MonkeyPatch, path: Path) -> None:
    """Point the SDK and the in-process CLI at ``path``, with none of the caller's ASSAY_*
    variables and no client left from an earlier test."""
    for key in [k for k in os.environ if k.startswith("ASSAY_")]:
        mp.delenv(key)
    mp.setenv("ASSAY_HOME", str(path))
    get_settings.cache_clear()
    hub._client = None


@pytest.fixture
def home(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, postgres: object, s3: object
) -> Iterator[Path]:
    """A fresh instance for this test (embedded; metadata in SQLite and files in ``home``,
    or a new PostgreSQL database and S3 prefix under TEST_DATABASE / TEST_STORAGE); the SDK
    and in-process CLI use it."""
    path = tmp_path / "home"
    use_home(monkeypatch, path)
    for key, value in backing_env(postgres, s3).items():
        monkeypatch.setenv(key, value)
    yield path
    if hub._client is not None:
        hub._client.close()
    hub._client = None
    embedded.stop_all()
    get_settings.cache_clear()


@dataclass
class Result:
    code: int
    out: str
    err: str

    def json(self) -> object:
        import json

        return json.loads(self.out)


@pytest.fixture
def cli(home: Path) -> Iterator[object]:
    """Run `assay ARGS` in this process (fast); the entry point is the real one."""
    from assay.cli.main import main

    def run(*args: str, cwd: Path | None = None) -> Result:
        out, err = io.StringIO(), io.StringIO()
        old_argv, old_cwd = sys.argv, os.getcwd()
        sys.argv = ["assay", *args]
        code = 0
        try:
            if cwd is not None:
                os.chdir(cwd)
            with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
                try:
                    main()
                except SystemExit as exc:
                    code = int(exc.code or 0) if not isinstance(exc.code, str) else 1
        finally:
            sys.argv = old_argv
            os.chdir(old_cwd)
        return Result(code, out.getvalue(), err.getvalue())

    factory = hub._client_factory
    yield run
    hub._client_factory = factory  # main() marks requests as the CLI's; SDK tests follow


def run_assay(
    home: Path,
    *args: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    """Run the installed `assay` executable as a user would."""
    return subprocess.run(
        [ASSAY, *args],
        cwd=cwd,
        env=env or clean_env(home),
        text=True,
        capture_output=True,
        timeout=timeout,
        check=False,
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    home: Path
    admin_key: str
    process: subprocess.Popen[str]
    database_url: str | None = None  # None: the embedded SQLite in home

    def client(self, key: str | None) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key}"} if key else {}
        return httpx.Client(base_url=self.url + "/api/v1", headers=headers, timeout=60)


def start_server(home: Path, extra_env: dict[str, str] | None = None) -> Server:
    port = free_port()
    log = open(home.parent / f"server-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [ASSAY, "server", "--host", "127.0.0.1", "--port", str(port)],
        env={**clean_env(home), **(extra_env or {})},
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            if httpx.get(url + "/api/v1/health", timeout=1).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError((home.parent / f"server-{port}.log").read_text())
        time.sleep(0.1)
    key = (home / "admin.key").read_text().strip()
    env = {**clean_env(home), **(extra_env or {})}
    return Server(url, home, key, proc, env.get("ASSAY_DATABASE_URL"))


@pytest.fixture
def server(tmp_path: Path, postgres: object, s3: object) -> Iterator[Server]:
    """A real `assay server` process on a free loopback port, with its own home (and its own
    database and storage prefix on this run's servers, if any)."""
    home = tmp_path / "server-home"
    home.mkdir()
    srv = start_server(home, backing_env(postgres, s3))
    yield srv
    srv.process.terminate()
    try:
        srv.process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        srv.process.kill()
