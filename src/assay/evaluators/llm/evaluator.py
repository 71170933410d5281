"""The llm evaluator: each shard sends its slice of the dataset to the endpoint (online, with
the limits of ``client``), scores every reply and writes one row per turn; the merge computes
every metric once over all rows.

The endpoints' settings (API keys included) come from ``ASSAY_ENDPOINTS``, which the
scheduler sets for this task's process only; the reply cache lives in ``ASSAY_LLM_CACHE``.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from pathlib import Path
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from assay.core.errors import InvalidInput
from assay.evaluators import plots
from assay.evaluators.llm import judge as judges
from assay.evaluators.llm import scorers
from assay.evaluators.llm.batch import run_batch
from assay.evaluators.llm.client import (
    Cache,
    ChatClient,
    EndpointConfig,
    EndpointRefused,
    NotSent,
    Reply,
)
from assay.evaluators.llm.local import LocalEngine, is_model_dir
from assay.evaluators.llm.params import LlmParams, parse
from assay.evaluators.registry import Stage, evaluator
from assay.formats import Files
from assay.formats import llm as dataset

TASK = "llm"
NOT_ASKED = "not asked: the job's --max-cost was reached"
STOPPED = "stopped.txt"  # why an llm version stopped early (read by the scheduler)


def _endpoints() -> dict[str, EndpointConfig]:
    raw = json.loads(os.environ.get("ASSAY_ENDPOINTS", "{}"))
    return {role: EndpointConfig(**cfg) for role, cfg in raw.items()}


class _Run:
    """One shard's requests, scores and running totals (for the progress lines)."""

    def __init__(self, p: LlmParams, stage: Stage, total: int) -> None:
        self.p, self.total = p, total
        found = _endpoints()
        if "model" not in found and not is_model_dir(stage.model_dir):
            raise InvalidInput(
                "the task has no endpoint, and its model commit holds no transformers model "
                "(config.json) to run locally"
            )
        self.judge_config = found.get("judge")
        cache_dir = os.environ.get("ASSAY_LLM_CACHE")
        cache = Cache(Path(cache_dir) if p.cache and cache_dir else None)
        shares = max(stage.shards, 1)

        def client(cfg: EndpointConfig, concurrency: int) -> ChatClient:
            cfg.check_target()  # a literal address never reaches the guarded resolver
            share = EndpointConfig(
                **{
                    **cfg.__dict__,
                    "rpm": cfg.rpm and max(cfg.rpm // shares, 1),
                    "tpm": cfg.tpm and max(cfg.tpm // shares, 1),
                }
            )
            return ChatClient(
                share,
                concurrency=max(concurrency // shares, 1),
                timeout=p.request_timeout,
                retries=p.retries,
                cache=cache,
            )

        self.chat: ChatClient | LocalEngine
        if "model" in found:
            self.model = found["model"]
            self.chat = client(self.model, p.concurrency or self.model.max_concurrency)
        else:  # no endpoint: Assay runs the model commit itself
            self.chat = LocalEngine(
                stage.model_dir,
                batch_size=int(stage.params.get("batch_size", 8)),
                device=str(stage.params.get("device", "cpu")),
                cache=cache,
            )
            self.model = self.chat.config
        self.judge = (
            client(self.judge_config, self.judge_config.max_concurrency)
            if self.judge_config and "judge" in p.scoring
            else None
        )
        self.rubric = judges.RUBRIC
        if p.judge_rubric and "judge" in p.scoring:
            self.rubric = Files(stage.data_dir).require(p.judge_rubric, "rubric").read_text()
            judges.check_rubric(self.rubric, p.judge_rubric)
        self.generation = {"max_tokens": p.max_tokens, "temperature": p.temperature}
        # A re-scoring version reads the replies of the version it re-scores (the worker puts
        # them next to the dataset) and never asks the model.
        self.batched: dict[tuple[str, int], Reply | str] | None = None
        self.batches: list[dict[str, Any]] = []  # the Batch API jobs this shard ran
        self.stored: dict[tuple[str, int], dict[str, Any]] | None = None
        if stage.params.get("rescore_of"):
            table = pq.read_table(stage.data_dir.parent / "replies" / "samples.parquet")
            self.stored = {(r["id"], r["turn"]): r for r in table.to_pylist()}
        self.done = self.errors = self.tokens_in = self.tokens_out = 0
        self.cost = 0.0
        # Each shard knows only its own spending: it gets its share of the budget.
        self.budget = p.max_cost / shares if p.max_cost is not None else None
        self.stopped = False
        self.started = time.monotonic()
        self.seconds = 0.0  # of requests and scoring, set when the run ends

    async def turn(
        self, conv: dataset.Conversation, t: dataset.Turn, messages: Any
    ) -> dict[str, Any]:
        row: dict[str, Any] = {
            "id": conv.id,
            "turn": t.index,
            "prompt": messages[-1]["content"],
            "messages": json.dumps(messages, ensure_ascii=False),
            "reference": t.reference,
            "reply": None,
            "error": None,
            "prompt_tokens": 0,
            "completion_tokens": 0,
            "latency": None,
            "cached": False,
            "cost": 0.0,
        }
        try:
            reply = await self._reply(conv.id, t.index, messages)
        except NotSent:
            row["error"] = NOT_ASKED
            self.stopped = True
        except ValueError as exc:
            row["error"] = str(exc)
            self.errors += 1
        else:
            row.update(
                reply=reply.text,
                prompt_tokens=reply.prompt_tokens,
                completion_tokens=reply.completion_tokens,
                latency=reply.latency if self.batched is None else None,
                cached=reply.cached,
                # Money this version spent: a cached or re-scored reply costs nothing now.
                cost=0.0
                if reply.cached
                else self.model.cost(reply.prompt_tokens, reply.completion_tokens),
            )
            for name in self.p.scoring:
                if name != "judge":
                    row[name] = scorers.score(name, reply.text, t, self.p)
            if self.judge is not None and self.judge_config is not None:
                verdict = await self._judge(row, t)
                row["cost"] += self.judge_config.cost(
                    verdict.prompt_tokens, verdict.completion_tokens
                )
            self.tokens_in += reply.prompt_tokens
            self.tokens_out += reply.completion_tokens
        self.cost += row["cost"]
        self.done += 1
        return row

    async def _reply(self, cid: str, turn: int, messages: Any) -> Reply:
        if self.batched is not None:
            found = self.batched.get((cid, turn), "the batch was not asked for this turn")
            if isinstance(found, str):
                raise ValueError(found)
            return found
        if self.stored is None:
            return await self.chat.chat(messages, self.generation, self._within_budget)
        row = self.stored.get((cid, turn))
        if row is None:
            raise ValueError("the re-scored version has no reply for this turn")
        if row["reply"] is None:
            raise NotSent if row["error"] == NOT_ASKED else ValueError(row["error"])
        return Reply(
            row["reply"], row["prompt_tokens"], row["completion_tokens"], row["latency"], 0, True
        )

    async def _batch(self, conversations: list[dataset.Conversation]) -> None:
        """inference=batch: every uncached turn in one Batch API job, cached as it returns."""
        keys: dict[str, tuple[str, int]] = {}
        requests: dict[str, Any] = {}
        self.batched = {}
        for conv in conversations:
            for t in conv.turns:
                messages = conv.request(t.index)
                found = self.chat.cache.get(
                    self.chat.cache.key(self.model, messages, self.generation)
                )
                if found is not None:
                    self.batched[(conv.id, t.index)] = found
                    continue
                cid = f"assay-{len(requests)}"
                keys[cid] = (conv.id, t.index)
                requests[cid] = messages
        if not requests:
            return
        replies = await run_batch(
            self.model,
            requests,
            self.generation,
            poll=self.p.batch_poll,
            timeout=self.p.request_timeout,
            record=self.batches,
        )
        for cid, reply in replies.items():
            if cid in keys:
                self.batched[keys[cid]] = reply
                if isinstance(reply, Reply):
                    key = self.chat.cache.key(self.model, requests[cid], self.generation)
                    self.chat.cache.put(key, reply)

    def _within_budget(self) -> bool:
        return self.budget is None or self.cost < self.budget

    async def _judge(self, row: dict[str, Any], t: dataset.Turn) -> judges.Verdict:
        assert self.judge is not None
        try:
            verdict = await judges.judge(
                self.judge,
                self.rubric,
                row["prompt"],
                t.reference,
                row["reply"],
                self.p.judge_min,
                self.p.judge_max,
                self.p.judge_retries,
            )
        except ValueError as exc:
            verdict = judges.Verdict(None, "", f"the judge failed: {exc}", 0, 0)
        row.update(
            judge=verdict.score,
            judge_rationale=verdict.rationale,
            judge_error=verdict.error,
            judge_prompt_tokens=verdict.prompt_tokens,
            judge_completion_tokens=verdict.completion_tokens,
        )
        return verdict

    async def conversation(self, conv: dataset.Conversation) -> list[dict[str, Any]]:
        if self.p.history == "reference" or len(conv.turns) == 1:
            return list(
                await asyncio.gather(
                    *(self.turn(conv, t, conv.request(t.index)) for t in conv.turns)
                )
            )
        rows: list[dict[str, Any]] = []
        replies: list[str] = []
        for t in conv.turns:  # the model's own earlier answers are its history
            if rows and rows[-1]["reply"] is None:
                rows.append(
                    {
                        **rows[-1],
                        "turn": t.index,
                        "reference": t.reference,
                        "error": "an earlier turn of the conversation failed",
                    }
                )
                continue
            row = await self.turn(conv, t, conv.request(t.index, replies))
            rows.append(row)
            if row["reply"] is not None:
                replies.append(row["reply"])
        return rows

    def progress(self) -> str:
        rate = self.done / max(time.monotonic() - self.started, 1e-9)
        return (
            f"[assay] {self.done}/{self.total} turns, {rate:.1f}/s, {self.errors} errors, "
            f"tokens {self.tokens_in}+{self.tokens_out}, cost ${self.cost:.4f}"
        )

    async def run(self, conversations: list[dataset.Conversation]) -> list[dict[str, Any]]:
        async def report() -> None:
            while True:
                await asyncio.sleep(2)
                print(self.progress(), flush=True)

        reporter = asyncio.create_task(report())
        self.started = time.monotonic()
        try:
            if self.p.inference == "batch" and self.stored is None:
                await self._batch(conversations)
            results = await asyncio.gather(*(self.conversation(c) for c in conversations))
        except EndpointRefused as exc:
            raise InvalidInput(exc.message) from None
        finally:
            reporter.cancel()
            await self.chat.close()
            if self.judge is not None:
                await self.judge.close()
        self.seconds = time.monotonic() - self.started
        print(self.progress(), flush=True)
        return [row for rows in results for row in rows]


@evaluator(TASK)
class LlmEvaluation:
    name = TASK

    def run_shard(self, stage: Stage) -> None:
        p = _params(stage)
        conversations = dataset.load(Files(stage.data_dir))
        n = len(conversations)
        mine = conversations[
            stage.shard * n // stage.shards : (stage.shard + 1) * n // stage.shards
        ]
        run = _Run(p, stage, sum(len(c.turns) for c in mine))
        rows = asyncio.run(run.run(mine))
        pq.write_table(pa.Table.from_pylist(rows), stage.output_dir / "shard.parquet")
        multi = any(c.multi_turn for c in conversations)
        (stage.output_dir / "info.json").write_text(
            json.dumps(
                {
                    "multi_turn": multi,
                    "stopped": run.stopped,
                    "batches": run.batches,
                    "seconds": run.seconds,
                }
            )
        )
        print(
            f"[assay] shard {stage.shard + 1}/{stage.shards}: {len(rows)} turns, "
            f"{run.chat.requests} requests",
            flush=True,
        )

    def merge(self, stage: Stage) -> None:
        p = _params(stage)
        tables = [pq.read_table(d / "shard.parquet") for d in stage.shard_dirs]
        table = pa.concat_tables(tables, promote_options="default")
        infos = [json.loads((d / "info.json").read_text()) for d in stage.shard_dirs]
        multi = any(i["multi_turn"] for i in infos)
        rows = table.to_pylist()
        metrics = llm_metrics(rows, p, multi)
        # Shards run side by side: the inference took as long as the slowest one.
        seconds = max(float(i.get("seconds", 0.0)) for i in infos)
        metrics["inference.seconds"] = seconds
        metrics["inference.rate"] = len(rows) / seconds if seconds > 0 else 0.0
        if any(i["stopped"] for i in infos):  # the scheduler ends the version Terminated
            (stage.output_dir / STOPPED).write_text(
                f"stopped at --max-cost ${p.max_cost:g}: {metrics['samples']} of {len(rows)} "
                f"turns asked, ${metrics['cost']:.4f} spent"
            )
        (stage.output_dir / "metrics.json").write_text(json.dumps(metrics, allow_nan=False))
        pq.write_table(table, stage.output_dir / "samples.parquet")
        artifacts = stage.output_dir / "artifacts"
        artifacts.mkdir(exist_ok=True)
        batches = [b for i in infos for b in i.get("batches", [])]
        if batches:  # the inference runs this version links to
            (artifacts / "batches.json").write_text(json.dumps(batches, indent=2))
        if "judge.distribution" in metrics:
            dist = metrics["judge.distribution"]
            total = sum(dist.values()) or 1
            plots.per_class_bars(
                {k: v / total for k, v in dist.items()},
                "share of replies",
                artifacts / "judge_scores.png",
            )
        turns = sorted({k.split(".")[0] for k in metrics if k.startswith("turn_")})
        if multi and turns and p.scoring[0] != "judge":
            first = p.scoring[0]
            plots.per_class_bars(
                {t: metrics.get(f"{t}.{first}.accuracy", 0.0) for t in turns},
                f"{first} accuracy",
                artifacts / "per_turn_accuracy.png",
            )
        print(
            f"[assay] merged {len(rows)} turns: "
            + ", ".join(
                f"{k} {v:.4f}"
                for k, v in metrics.items()
                if k.endswith(".accuracy") and "_" not in k
            ),
            flush=True,
        )


def _params(stage: Stage) -> LlmParams:
    """The job's parameters over the dataset's defaults (``assay-llm.json``)."""
    found = dataset.defaults(Files(stage.data_dir).read_text(dataset.DEFAULTS))
    return parse({**found, **stage.params})


def _rate(values: list[Any]) -> float | None:
    scored = [v for v in values if v is not None]
    return sum(bool(v) for v in scored) / len(scored) if scored else None


def llm_metrics(rows: list[dict[str, Any]], p: LlmParams, multi: bool) -> dict[str, Any]:
    """Every metric over the turns that were asked (a budget stop leaves some unasked)."""
    rows = [r for r in rows if r["error"] != NOT_ASKED]
    ok = [r for r in rows if r["error"] is None]
    out: dict[str, Any] = {
        "samples": len(rows),
        "error_rate": (len(rows) - len(ok)) / len(rows) if rows else 0.0,
        "tokens.prompt": sum(r["prompt_tokens"] for r in rows),
        "tokens.completion": sum(r["completion_tokens"] for r in rows),
        "cost": float(sum(r["cost"] for r in rows)),
    }
    latencies = [r["latency"] for r in ok if r["latency"] is not None]
    if latencies:
        out["latency.p50"] = float(np.percentile(latencies, 50))
        out["latency.p95"] = float(np.percentile(latencies, 95))
    rules = [s for s in p.scoring if s != "judge"]
    for name in rules:
        rate = _rate([r.get(name) for r in ok])
        if rate is not None:  # errors are counted by error_rate, not as wrong answers
            out[f"{name}.accuracy"] = rate
    if "judge" in p.scoring:
        scores = [r["judge"] for r in ok if r.get("judge") is not None]
        out["judge.errors"] = sum(1 for r in ok if r.get("judge_error"))
        out["tokens.judge_prompt"] = sum(r.get("judge_prompt_tokens") or 0 for r in ok)
        out["tokens.judge_completion"] = sum(r.get("judge_completion_tokens") or 0 for r in ok)
        if scores:
            out["judge.mean"] = float(np.mean(scores))
            out["judge.median"] = float(np.median(scores))
            values = sorted(set(scores))
            out["judge.distribution"] = {f"{v:g}": scores.count(v) for v in values}
    if multi:
        for k in sorted({r["turn"] for r in rows}):
            at = [r for r in ok if r["turn"] == k]
            for name in rules:
                rate = _rate([r.get(name) for r in at])
                if rate is not None:
                    out[f"turn_{k}.{name}.accuracy"] = rate
        by_conv: dict[str, list[dict[str, Any]]] = {}
        for r in rows:
            by_conv.setdefault(r["id"], []).append(r)
        for name in rules:
            verdicts = []
            for turns in by_conv.values():
                values = [r.get(name) for r in turns]
                if all(v is None for v in values) and all(r["error"] is None for r in turns):
                    continue
                verdicts.append(all(r["error"] is None and r.get(name) is not False for r in turns))
            if verdicts:
                out[f"conversation.{name}.accuracy"] = sum(verdicts) / len(verdicts)
    return out
