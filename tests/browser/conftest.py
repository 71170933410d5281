"""The web console in Debian's Chromium (Playwright's Python package, never its browser
downloads) against a real `assay server` on loopback with real data.

One server, one browser and one set of assets for the whole module: the digits classifier
(examples/digits/prepare.py) as model ``digits/logreg`` (branch ``v2`` holds a second
classifier trained on less data), its test images as dataset ``digits/test``, and the job
tests' flexible script as code ``s/e`` (with model ``f/m`` and dataset ``f/d``).
"""

from __future__ import annotations

import contextlib
import os
import re
import subprocess
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, BrowserContext, Page, sync_playwright

from assay import hub
from assay.sdk.client import Client
from tests.conftest import ASSAY, ROOT, Server, clean_env, free_port, start_server
from tests.integration.evaluators.helpers import digits_prepare
from tests.integration.jobs.conftest import make_assets
from tests.support.waiting import until

CHROMIUM = os.environ.get("ASSAY_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SHOTS = ROOT / "test-output" / "screenshots"
KEY_ITEM = "assay.apiKey"


@dataclass
class Console:
    server: Server
    api: httpx.Client
    browser: Browser
    contexts: list[BrowserContext] = field(default_factory=list)

    @property
    def url(self) -> str:
        return self.server.url

    def page(self, *, logged_in: bool = True) -> Page:
        """A new browser context (a fresh tab and session); logged in with the admin key
        placed in its sessionStorage unless asked otherwise."""
        context = self.browser.new_context(viewport={"width": 1500, "height": 1000})
        context.set_default_timeout(20_000)
        if logged_in:
            context.add_init_script(
                f"window.sessionStorage.setItem({KEY_ITEM!r}, {self.server.admin_key!r})"
            )
        self.contexts.append(context)
        page = context.new_page()
        errors: list[str] = []
        page.on("pageerror", lambda exc: errors.append(str(exc)))
        page.errors = errors  # type: ignore[attr-defined]
        return page

    def shot(self, page: Page, name: str) -> None:
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / f"{name}.png"), full_page=True)

    def wait_version(self, ref: str, timeout: float = 180) -> dict[str, Any]:
        job, _, name = ref.partition(":")

        def ended() -> dict[str, Any] | None:
            v: dict[str, Any] = self.api.get(f"/jobs/{job}/versions/{name}").json()
            return v if v["state"] not in ("Creating", "Queuing", "Running") else None

        return until(ended, f"{ref} to end", timeout)  # type: ignore[no-any-return]


def no_page_errors(page: Page) -> None:
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def _commit_dir(type_: str, folder: str, name: str, directory: Path, branch: str = "main") -> None:
    try:
        f = hub.create_folder(type_=type_, name=folder)
    except Exception:
        f = hub.get_folder(type_=type_, name=folder)
    try:
        asset = f.create_asset(name=name)
    except Exception:
        asset = f.get_asset(name)
    if branch != "main":
        asset.create_branch(branch)
    with contextlib.chdir(directory):
        asset.create_commit(message=f"{name} ({branch})", add=["."], branch=branch)


@pytest.fixture(scope="module")
def console(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Console]:
    subprocess.run(["bash", str(ROOT / "scripts/ensure-chromium.sh")], check=True)
    if not (ROOT / "web" / "dist" / "index.html").exists():
        pytest.fail(
            "the console is not built: run `make install` (npm ci && npm run build in web/)"
        )
    tmp = tmp_path_factory.mktemp("console")
    home = tmp / "server-home"
    home.mkdir()
    srv = start_server(home)
    api = srv.client(srv.admin_key)
    hub.use_client(Client(srv.url, srv.admin_key, source="sdk"))
    try:
        prepare = digits_prepare()
        prepare.prepare(tmp / "model", tmp / "data", test_size=0.2)
        _commit_dir("model", "digits", "logreg", tmp / "model")
        _commit_dir("dataset", "digits", "test", tmp / "data")
        # A weaker classifier on branch v2 (trained on a tenth of the images) for compare.
        prepare.prepare(tmp / "model-v2", tmp / "data-v2", test_size=0.9)
        _commit_dir("model", "digits", "logreg", tmp / "model-v2", branch="v2")
        make_assets(tmp)
    finally:
        hub._client = None
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        c = Console(srv, api, browser)
        try:
            yield c
        finally:
            for context in c.contexts:
                with contextlib.suppress(Exception):
                    context.close()
            browser.close()
            api.close()
            srv.process.terminate()
            try:
                srv.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                srv.process.kill()


def start_local_server(home: Path) -> tuple[str, subprocess.Popen[str]]:
    """`assay server --local`: requests without a key act as the local user."""
    port = free_port()
    log = open(home.parent / f"local-server-{port}.log", "w")  # noqa: SIM115
    proc = subprocess.Popen(
        [ASSAY, "server", "--local", "--host", "127.0.0.1", "--port", str(port)],
        env=clean_env(home),
        stdout=log,
        stderr=subprocess.STDOUT,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError((home.parent / f"local-server-{port}.log").read_text())
        try:
            return httpx.get(url + "/api/v1/health", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    until(up, "the local server", 60)
    return url, proc


def column_ids(page: Page) -> list[str]:
    """The evaluations table's header cells, left to right."""
    return page.eval_on_selector_all(
        "[data-testid=evaluations-table] thead th", "els => els.map(e => e.dataset.col)"
    )


SHORT_ID = re.compile(r"^[0-9a-f]{8}$")
