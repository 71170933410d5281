"""A load generator, run as its own process against a running Assay server.

    python benchmarks/loadgen.py --url http://127.0.0.1:8080 --key KEY --clients 50 \
        --seconds 60 --out result.json

It signs in with KEY (a user's API key), sets up a model (with one branch per client) and a
dataset, then runs CLIENTS asyncio clients (httpx, one connection each) for SECONDS, each
picking at random: create an evaluation (40%), commit one new small file to its own branch
(20%: a blob upload, then the commit), list evaluations (25%) or compare two evaluations
(15%). Creates carry an Idempotency-Key, as the SDK sends them. Every request's route,
status and latency is kept; any non-2xx answer or transport error counts as an error.

Afterwards it counts through the API what the database holds, the evaluations (paged) and
each branch's commits, and compares with what was acknowledged (a 201 received). The JSON
written to --out: per route count, errors, throughput (requests/s) and p50/p95/p99 latency
(ms); acknowledged and stored counts; and the first few errors.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import random
import time
import uuid
from collections import defaultdict
from typing import Any

import httpx
import numpy as np

WEIGHTS = {"evaluation": 40, "commit": 20, "list": 25, "compare": 15}


class Load:
    def __init__(self, url: str, key: str, clients: int, seconds: float, seed: int) -> None:
        self.url = url.rstrip("/") + "/api/v1"
        self.headers = {"Authorization": f"Bearer {key}"}
        self.clients = clients
        self.seconds = seconds
        self.rng = random.Random(seed)
        self.tag = uuid.uuid4().hex[:8]
        self.latency: dict[str, list[float]] = defaultdict(list)
        self.errors: dict[str, int] = defaultdict(int)
        self.samples: list[str] = []
        self.evaluations: list[str] = []  # acknowledged ids
        self.commits: dict[int, int] = defaultdict(int)  # client -> acknowledged commits

    async def call(
        self, http: httpx.AsyncClient, route: str, method: str, path: str, **kwargs: Any
    ) -> httpx.Response | None:
        start = time.perf_counter()
        try:
            r = await http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            self.errors[route] += 1
            self._sample(f"{route}: {type(exc).__name__}: {exc}")
            return None
        self.latency[route].append(time.perf_counter() - start)
        if not r.is_success:
            self.errors[route] += 1
            self._sample(f"{route}: {r.status_code} {r.text[:300]}")
            return None
        return r

    def _sample(self, text: str) -> None:
        if len(self.samples) < 20:
            self.samples.append(text)

    async def setup(self, http: httpx.AsyncClient) -> None:
        async def ok(method: str, path: str, **kwargs: Any) -> Any:
            r = await http.request(method, path, **kwargs)
            assert r.is_success, (path, r.status_code, r.text)
            return r.json()

        async def asset(type_: str, folder: str) -> str:
            await ok("POST", "/folders", json={"type": type_, "name": folder})
            made = await ok("POST", "/assets", json={"type": type_, "folder": folder, "name": "a"})
            asset_id = str(made["id"])
            sha = await self.blob(http, f"{type_} {self.tag}".encode())
            entry = {"path": "base.txt", "sha256": sha, "size": len(f"{type_} {self.tag}")}
            await ok("POST", f"/assets/{asset_id}/commits", json={"message": "b", "add": [entry]})
            return asset_id

        self.model_id = await asset("model", f"lm{self.tag}")
        await asset("dataset", f"ld{self.tag}")
        self.model_ref = f"lm{self.tag}/a"
        self.dataset_ref = f"ld{self.tag}/a"
        for i in range(self.clients):
            await ok("POST", f"/assets/{self.model_id}/branches", json={"name": f"c{i}"})
        for _ in range(2):  # something to compare from the start
            ev = await ok("POST", "/evaluations", json=self._evaluation())
            self.evaluations.append(str(ev["id"]))

    async def blob(self, http: httpx.AsyncClient, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        r = await http.put(f"/blobs/{sha}", content=data)
        assert r.is_success, r.text
        return sha

    def _evaluation(self) -> dict[str, Any]:
        metrics = {"accuracy": self.rng.random(), "loss": self.rng.random()}
        return {"model": self.model_ref, "dataset": self.dataset_ref, "metrics": metrics}

    async def client(self, index: int, deadline: float) -> None:
        rng = random.Random(index)
        ops, weights = list(WEIGHTS), list(WEIGHTS.values())
        key = {"Idempotency-Key": ""}
        async with httpx.AsyncClient(
            base_url=self.url,
            headers=self.headers,
            timeout=120,
            limits=httpx.Limits(max_connections=1),
        ) as http:
            n = 0
            while time.perf_counter() < deadline:
                op = rng.choices(ops, weights)[0]
                key["Idempotency-Key"] = uuid.uuid4().hex
                if op == "evaluation":
                    r = await self.call(
                        http,
                        "POST /evaluations",
                        "POST",
                        "/evaluations",
                        json=self._evaluation(),
                        headers=key,
                    )
                    if r is not None:
                        self.evaluations.append(str(r.json()["id"]))
                elif op == "commit":
                    n += 1
                    data = f"{self.tag} client {index} file {n}".encode()
                    sha = hashlib.sha256(data).hexdigest()
                    put = await self.call(
                        http, "PUT /blobs/{sha256}", "PUT", f"/blobs/{sha}", content=data
                    )
                    if put is None:
                        continue
                    body = {
                        "branch": f"c{index}",
                        "message": f"file {n}",
                        "add": [{"path": f"f{n}.txt", "sha256": sha, "size": len(data)}],
                    }
                    r = await self.call(
                        http,
                        "POST /assets/{id}/commits",
                        "POST",
                        f"/assets/{self.model_id}/commits",
                        json=body,
                        headers=key,
                    )
                    if r is not None:
                        self.commits[index] += 1
                elif op == "list":
                    await self.call(
                        http,
                        "GET /evaluations",
                        "GET",
                        "/evaluations",
                        params={"model": self.model_ref, "limit": 20},
                    )
                else:
                    baseline, candidate = rng.sample(self.evaluations, 2)
                    await self.call(
                        http,
                        "POST /compare",
                        "POST",
                        "/compare",
                        json={"baseline": baseline, "candidates": [candidate]},
                    )

    async def count(self, http: httpx.AsyncClient) -> dict[str, Any]:
        """What the database holds, through the API."""
        stored: set[str] = set()
        cursor: str | None = None
        while True:
            params: dict[str, Any] = {"model": self.model_ref, "limit": 1000}
            if cursor:
                params["cursor"] = cursor
            r = await http.get("/evaluations", params=params)
            assert r.is_success, r.text
            page = r.json()
            stored.update(e["id"] for e in page)
            if len(page) < 1000:
                break
            cursor = f"{page[-1]['startTime']}|{page[-1]['id']}"
        commits = {}
        for i in range(self.clients):
            r = await http.get(f"/assets/{self.model_id}/commits", params={"rev": f"c{i}"})
            assert r.is_success, r.text
            commits[i] = len(r.json()) - 2  # the initial commit and the base commit
        return {
            "evaluations_acknowledged": len(self.evaluations),
            "evaluations_stored": len(stored),
            "evaluations_match": stored == set(self.evaluations),
            "commits_acknowledged": sum(self.commits.values()),
            "commits_stored": sum(commits.values()),
            "commits_match": all(commits[i] == self.commits[i] for i in range(self.clients)),
        }

    async def run(self) -> dict[str, Any]:
        async with httpx.AsyncClient(base_url=self.url, headers=self.headers, timeout=120) as h:
            await self.setup(h)
            start = time.perf_counter()
            await asyncio.gather(
                *(self.client(i, start + self.seconds) for i in range(self.clients))
            )
            elapsed = time.perf_counter() - start
            counts = await self.count(h)
        routes = {}
        for route in sorted(set(self.latency) | set(self.errors)):
            ms = np.array(self.latency[route] or [0.0]) * 1000
            routes[route] = {
                "requests": len(self.latency[route]),
                "errors": self.errors[route],
                "per_s": round(len(self.latency[route]) / elapsed, 1),
                "p50_ms": round(float(np.percentile(ms, 50)), 1),
                "p95_ms": round(float(np.percentile(ms, 95)), 1),
                "p99_ms": round(float(np.percentile(ms, 99)), 1),
            }
        total = sum(len(v) for v in self.latency.values())
        return {
            "clients": self.clients,
            "seconds": round(elapsed, 1),
            "requests": total,
            "per_s": round(total / elapsed, 1),
            "errors": sum(self.errors.values()),
            "routes": routes,
            **counts,
            "error_samples": self.samples,
        }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", required=True)
    parser.add_argument("--key", required=True)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--out")
    a = parser.parse_args()
    result = asyncio.run(Load(a.url, a.key, a.clients, a.seconds, a.seed).run())
    text = json.dumps(result, indent=2)
    if a.out:
        with open(a.out, "w") as f:
            f.write(text)
    print(text)


if __name__ == "__main__":
    main()
