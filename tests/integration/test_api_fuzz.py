"""Schemathesis against Assay's own OpenAPI schema on a live loopback server: generated
requests to every operation (coverage and fuzzing phases, 3 examples each, a fixed seed, at
most 45 s) never get a 500 and never a response that violates the schema. A longer run
(`--max-time 300`) is the same command with a bigger budget; it passed 11,762 cases on
2026-11-23 (docs/reliability.md)."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import httpx

from tests.conftest import ROOT, Server

SEED = "199234665091913877931256914836371216504"


def test_generated_requests_never_get_a_server_error(server: Server, tmp_path: Path) -> None:
    done = subprocess.run(
        [
            str(ROOT / ".venv" / "bin" / "schemathesis"),
            "run",
            f"{server.url}/openapi.json",
            "-H",
            f"Authorization: Bearer {server.admin_key}",
            "--checks",
            "not_a_server_error,response_schema_conformance",
            "--phases",
            "coverage,fuzzing",
            "--max-examples",
            "3",
            "--max-time",
            "45",
            "--workers",
            "2",
            "--seed",
            SEED,
            "--no-color",
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
        check=False,
    )
    report = done.stdout + done.stderr
    assert done.returncode == 0, report[-6000:]
    operations = sum(
        len(ops) for ops in httpx.get(f"{server.url}/openapi.json").json()["paths"].values()
    )
    tested = re.search(r"Tested: (\d+)", report)
    assert tested and int(tested.group(1)) == operations, report[-3000:]
    cases = re.search(r"(\d+) generated, (\d+) passed", report)
    assert cases and cases.group(1) == cases.group(2) and int(cases.group(1)) > operations
