"""Online LLM inference through a whole llm job against our own loopback server that answers
every request after a fixed 100 ms: 2,000 single-turn samples at concurrency 64. The limit is
64 / 0.1 s = 640 samples/s. Prints Assay's throughput, its share of the limit and the CPU time
the job's processes spent per sample.

The job's time is its version's start to finish (shard with every request and its scoring,
then the merge); CPU time is what the workers reported (``assay usage``).
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.support.openai_server import Behaviour, serve  # noqa: E402

SAMPLES, CONCURRENCY, LATENCY = 2000, 64, 0.1


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
        behaviour = Behaviour(latency=LATENCY)
        with serve(behaviour) as url:
            hub.create_endpoint("bench", base_url=url, model="m", max_concurrency=CONCURRENCY)
            v = (
                hub.create_job(
                    name="bench-llm",
                    type="llm",
                    endpoint="bench",
                    dataset="bench/qa",
                    params={"scoring": "exact,prefix", "cache": False},
                )
                .get_version("V0001")
                .wait(timeout=600)
            )
        assert v.status == "Completed", v.data["message"]
        assert v.metrics is not None and v.metrics["exact.accuracy"] == 1.0
        start = datetime.fromisoformat(v.data["startedAt"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(v.data["finishedAt"].replace("Z", "+00:00"))
        seconds = (end - start).total_seconds()
        cpu = v.data["usage"]["cpuSeconds"]
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
        print(f"  requests the server saw: {len(behaviour.requests):,}")
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
