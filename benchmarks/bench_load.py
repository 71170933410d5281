"""Load: 50 concurrent clients for 60 s against a real `assay server` on loopback, from a
second process (benchmarks/loadgen.py: asyncio + httpx), mixing evaluation creates, commits
(a blob upload, then the commit), evaluation lists and compares; on SQLite, then on
PostgreSQL (a throwaway cluster on loopback, as the tests start it).

Printed per database and route: requests, errors, throughput and p50/p95/p99 latency; then
whether the database holds exactly the acknowledged evaluations and commits (counted
through the API). ASSAY_BENCH_LOAD_SECONDS and ASSAY_BENCH_LOAD_CLIENTS change the form.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
SECONDS = float(os.environ.get("ASSAY_BENCH_LOAD_SECONDS", "60"))
CLIENTS = int(os.environ.get("ASSAY_BENCH_LOAD_CLIENTS", "50"))


def _run(label: str, database_url: str | None) -> bool:
    from tests.conftest import clean_env, start_server

    work = Path(tempfile.mkdtemp(prefix="assay-bench-load-"))
    home = work / "home"
    home.mkdir()
    srv = start_server(home, {"ASSAY_DATABASE_URL": database_url} if database_url else {})
    try:
        with srv.client(srv.admin_key) as admin:
            key = admin.post("/users", json={"name": "loader"}).json()["apiKey"]
        out = work / "load.json"
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "benchmarks" / "loadgen.py"),
                f"--url={srv.url}",
                f"--key={key}",
                f"--clients={CLIENTS}",
                f"--seconds={SECONDS}",
                f"--out={out}",
            ],
            env=clean_env(work),
            stdout=subprocess.DEVNULL,
            check=True,
        )
        r = json.loads(out.read_text())
        print(
            f"{label}: {r['clients']} clients, {r['seconds']:.0f} s, {r['requests']:,} "
            f"requests ({r['per_s']:.1f}/s), {r['errors']} errors; "
            f"load average {os.getloadavg()[0]:.1f}"
        )
        print(
            f"  {'route':<28} {'requests':>8} {'errors':>6} {'per s':>7} "
            f"{'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}"
        )
        for route, v in r["routes"].items():
            print(
                f"  {route:<28} {v['requests']:>8} {v['errors']:>6} {v['per_s']:>7.1f} "
                f"{v['p50_ms']:>8.1f} {v['p95_ms']:>8.1f} {v['p99_ms']:>8.1f}"
            )
        exact = r["evaluations_match"] and r["commits_match"]
        print(
            f"  stored == acknowledged: evaluations {r['evaluations_stored']} / "
            f"{r['evaluations_acknowledged']}, commits {r['commits_stored']} / "
            f"{r['commits_acknowledged']}: {'exact' if exact else 'MISMATCH'}"
        )
        for sample in r["error_samples"][:5]:
            print("  error:", sample)
        return bool(exact and r["errors"] == 0)
    finally:
        srv.process.terminate()
        srv.process.wait(timeout=60)
        shutil.rmtree(work, ignore_errors=True)


def main() -> int:
    from tests.support.postgres import PostgresServer

    subprocess.run(["bash", str(ROOT / "scripts/ensure-postgres.sh")], check=True)
    ok = _run("SQLite", None)
    pg = PostgresServer()
    pg.start()
    try:
        ok = _run("PostgreSQL", pg.create_database()) and ok
    finally:
        pg.stop()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
