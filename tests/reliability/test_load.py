"""Load, reduced form: 50 concurrent clients for 10 s against a real server, from a second
process (benchmarks/loadgen.py), mixing evaluation creates, commits, lists and compares.
No errors, and the database holds exactly the acknowledged records. The full form (60 s,
with latency figures) is benchmarks/bench_load.py in `make bench`; no latency is asserted
here."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.conftest import ROOT, Server, clean_env

CLIENTS = 50
SECONDS = 10


def test_fifty_clients_get_no_errors_and_every_acknowledged_record_is_stored(
    server: Server, tmp_path: Path
) -> None:
    with server.client(server.admin_key) as admin:
        r = admin.post("/users", json={"name": "loader"})
        assert r.status_code == 201, r.text
        key = r.json()["apiKey"]
    out = tmp_path / "load.json"
    proc = subprocess.run(
        [
            sys.executable,
            str(ROOT / "benchmarks" / "loadgen.py"),
            f"--url={server.url}",
            f"--key={key}",
            f"--clients={CLIENTS}",
            f"--seconds={SECONDS}",
            f"--out={out}",
        ],
        env=clean_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    result = json.loads(out.read_text())
    print(json.dumps(result["routes"], indent=1))
    assert result["errors"] == 0, result["error_samples"]
    routes = result["routes"]
    for route in ("POST /evaluations", "POST /assets/{id}/commits", "GET /evaluations"):
        assert routes[route]["requests"] > 0, routes
    assert routes["POST /compare"]["requests"] > 0, routes
    # Exactly what was acknowledged, no more (a duplicate) and no less (a lost write).
    assert result["evaluations_match"], result
    assert result["evaluations_stored"] == result["evaluations_acknowledged"]
    assert result["commits_match"], result
    assert result["commits_stored"] == result["commits_acknowledged"] > 0
