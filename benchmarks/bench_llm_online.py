"""Online LLM inference through a whole llm job against our own loopback server that answers
every request after a fixed 100 ms: 2,000 single-turn samples at concurrency 64. The limit is
64 / 0.1 s = 640 samples/s. Prints Assay's throughput, its share of the limit and the CPU time
the job's processes spent per sample.

The job's time is its version's start to finish (worker start, every request and its
scoring, the merge); the inference phase is the shard's first request to its last reply
(``inference.rate`` in the metrics). CPU time is what the workers reported. The test server
(tests/support/openai_server.py, aiohttp) runs in a process of its own.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent

SAMPLES, CONCURRENCY, LATENCY = 2000, 64, 0.1


def _job(name: str, params: dict[str, object]) -> tuple[float, float, float]:
    """(seconds from start to finish, CPU seconds, inference rate) of one llm version."""
    from assay import hub

    v = (
        hub.create_job(
            name=name,
            type="llm",
            endpoint="bench",
            dataset="bench/qa",
            params={"scoring": "exact,prefix", "cache": False, "batch_poll": 0.1, **params},
        )
        .get_version("V0001")
        .wait(timeout=600)
    )
    assert v.status == "Completed", v.data["message"]
    assert v.metrics is not None and v.metrics["exact.accuracy"] == 1.0
    start = datetime.fromisoformat(v.data["startedAt"].replace("Z", "+00:00"))
    end = datetime.fromisoformat(v.data["finishedAt"].replace("Z", "+00:00"))
    rate = float(v.metrics["inference.rate"])
    return (end - start).total_seconds(), float(v.data["usage"]["cpuSeconds"]), rate


def _bare_client(url: str) -> float:
    """The peer: a bare aiohttp loop sending the same 2,000 requests at the same
    concurrency, nothing else (no scoring, no rows, no cache). Samples per second."""
    import asyncio

    import aiohttp

    async def run() -> float:
        gate = asyncio.Semaphore(CONCURRENCY)
        connector = aiohttp.TCPConnector(limit=CONCURRENCY)
        async with aiohttp.ClientSession(connector=connector) as session:

            async def one(i: int) -> None:
                body = {"model": "m", "messages": [{"role": "user", "content": f"question {i}"}]}
                async with gate, session.post(f"{url}/chat/completions", json=body) as r:
                    await r.text()

            started = time.perf_counter()
            await asyncio.gather(*(one(i) for i in range(SAMPLES)))
            return SAMPLES / (time.perf_counter() - started)

    return asyncio.run(run())


def main() -> None:
    work = Path(tempfile.mkdtemp(prefix="assay-bench-llm-"))
    os.environ["ASSAY_HOME"] = str(work / "home")
    from assay import hub

    try:
        data = work / "data"
        data.mkdir()
        lines = [
            {"id": f"q{i}", "prompt": f"question {i}", "reference": f"ECHO: question {i}"}
            for i in range(SAMPLES)
        ]
        (data / "data.jsonl").write_text("".join(json.dumps(x) + "\n" for x in lines))
        os.chdir(data)
        hub.create_folder(type_="dataset", name="bench").create_asset(name="qa").create_commit(
            message="qa", add=["."]
        )
        # The server runs in a process of its own, as a real endpoint would.
        server = subprocess.Popen(
            [sys.executable, "-m", "tests.support.openai_server", str(LATENCY)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert server.stdout is not None and server.stdin is not None
        url = server.stdout.readline().strip()
        try:
            hub.create_endpoint(
                "bench", base_url=url, model="m", max_concurrency=CONCURRENCY, batch=True
            )
            bare = _bare_client(url)
            seconds, cpu, inference = _job("bench-llm", {})
            batch_seconds, batch_cpu, _ = _job("bench-llm-batch", {"inference": "batch"})
        finally:
            server.stdin.close()
            seen = int(server.stdout.readline() or 0)
            server.wait(timeout=30)
        rate = SAMPLES / seconds
        limit = CONCURRENCY / LATENCY
        print(
            f"llm online inference, {SAMPLES:,} samples, concurrency {CONCURRENCY}, "
            f"server latency {LATENCY * 1000:.0f} ms"
        )
        print(f"  limit                 {limit:7.0f} samples/s")
        print(
            f"  whole Assay job       {rate:7.0f} samples/s  ({seconds:.2f} s)   "
            f"share of the limit {rate / limit:.1%}"
        )
        print(f"  CPU per sample        {cpu / SAMPLES * 1000:7.2f} ms (shard + merge workers)")
        print(
            f"  inference phase       {inference:7.0f} samples/s   share of the limit "
            f"{inference / limit:.1%}  (first request to last reply, in the shard)"
        )
        print(
            f"  peer: bare aiohttp    {bare:7.0f} samples/s   share of the limit {bare / limit:.1%}"
            f"  (Assay's inference phase is at {inference / bare:.0%} of it)"
        )
        print(f"  requests the server saw (both jobs and the peer, batch calls included): {seen:,}")
        print(
            f"  batch path, same dataset: {batch_seconds:.2f} s, CPU per sample "
            f"{batch_cpu / SAMPLES * 1000:.2f} ms (the test server answers a batch at once, "
            "so this is Assay's overhead: file, batch, one poll, join)"
        )
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
