"""Token and cost estimates of an llm job before it runs (seed 003's billing).

Input tokens are counted with the model's own tokenizer when the endpoint is linked to a
model commit holding ``tokenizer.json`` (through the ``tokenizers`` library), else
approximated as four characters per token plus four per message; the estimate says which.
Output tokens per turn are the mean of this endpoint's earlier evaluations, else
``max_tokens``. Judging adds the rubric with question, reference and expected reply in, and
the judge's own history (else 50 tokens) out.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from sqlalchemy import select

from assay.core.errors import InvalidInput
from assay.core.refs import parse_ref
from assay.db.models import Commit, Endpoint, Evaluation
from assay.evaluators.llm import judge as judges
from assay.evaluators.llm.client import approx_tokens
from assay.evaluators.llm.params import LlmParams, parse
from assay.formats import llm as llm_format
from assay.services import endpoints, history, hub
from assay.services.context import Ctx

MAX_BYTES = 256 * 1024 * 1024  # datasets read whole by the server to estimate them
JUDGE_OUT = 50

Counter = Callable[[list[dict[str, str]]], int]


def _counter(ctx: Ctx, endpoint: Endpoint) -> tuple[Counter, str]:
    if endpoint.model_commit_id is not None:
        commit = ctx.session.get(Commit, endpoint.model_commit_id)
        files = history.read_manifest(ctx, commit) if commit is not None else {}
        entry = files.get("tokenizer.json")
        if entry is not None:
            from tokenizers import Tokenizer

            try:
                tokenizer = Tokenizer.from_str(ctx.store.read_bytes(entry.sha256).decode())
            except Exception as exc:  # the library raises its own untyped errors
                raise InvalidInput(
                    f"tokenizer.json of {endpoint.model_ref} does not load: {exc}"
                ) from None

            def count(messages: list[dict[str, str]]) -> int:
                return sum(len(tokenizer.encode(m["content"]).ids) + 4 for m in messages)

            return count, f"tokenizer.json of {endpoint.model_ref}"
    return approx_tokens, "approximation: 4 characters per token + 4 per message"


def _mean_completion(ctx: Ctx, endpoint: str, key: str) -> float | None:
    """Mean completion tokens per turn over the owner's evaluations of ``endpoint``."""
    tokens = turns = 0
    for metrics in ctx.session.scalars(
        select(Evaluation.metrics).where(
            Evaluation.owner_id == ctx.actor.id, Evaluation.endpoint == endpoint
        )
    ):
        if isinstance(metrics.get(key), int | float) and metrics.get("samples"):
            tokens += metrics[key]
            turns += metrics["samples"]
    return tokens / turns if turns else None


def _conversations(
    ctx: Ctx, dataset_ref: str
) -> tuple[list[llm_format.Conversation], dict[str, Any]]:
    """The dataset's conversations and its default parameters."""
    resolved = hub.resolve(ctx, parse_ref(dataset_ref, type_hint="dataset"))
    files = history.read_manifest(ctx, resolved.commit)
    names = llm_format.jsonl_names(sorted(files))
    entry = files.get(llm_format.DEFAULTS)
    defaults = llm_format.defaults(
        ctx.store.read_bytes(entry.sha256).decode("utf-8", "replace") if entry else None
    )
    if sum(files[n].size for n in names) > MAX_BYTES:
        raise InvalidInput(
            f"the dataset's JSONL files exceed {MAX_BYTES // 2**20} MiB; estimates read them whole"
        )
    conversations = llm_format.parse(
        [(n, ctx.store.read_bytes(files[n].sha256).decode("utf-8")) for n in names]
    )
    return conversations, defaults


def estimate(
    ctx: Ctx, endpoint_name: str, dataset_ref: str, params: dict[str, Any]
) -> dict[str, Any]:
    conversations, defaults = _conversations(ctx, dataset_ref)
    p: LlmParams = parse({**defaults, **params})
    endpoint = endpoints.get(ctx, endpoint_name)
    judge_endpoint = (
        endpoints.get(ctx, p.judge_endpoint) if "judge" in p.scoring and p.judge_endpoint else None
    )
    count, tokenizer = _counter(ctx, endpoint)
    turns = [(c, t) for c in conversations for t in c.turns]
    input_tokens = sum(count(c.request(t.index)) for c, t in turns)
    mean_out = _mean_completion(ctx, endpoint.name, "tokens.completion")
    per_turn = mean_out if mean_out is not None else float(p.max_tokens)
    output_tokens = round(per_turn * len(turns))
    model_cost = (input_tokens * endpoint.price_input + output_tokens * endpoint.price_output) / 1e6
    out: dict[str, Any] = {
        "endpoint": endpoint.name,
        "samples": len(turns),
        "inputTokens": input_tokens,
        "outputTokens": output_tokens,
        "tokenizer": tokenizer,
        "outputFrom": (
            "the mean of this endpoint's earlier evaluations"
            if mean_out is not None
            else f"max_tokens ({p.max_tokens}) per turn: no earlier evaluation of this endpoint"
        ),
        "cost": {"model": model_cost, "judge": 0.0, "total": model_cost},
    }
    if judge_endpoint is not None:
        reply_chars = "x" * int(per_turn * 4)
        judge_in = sum(
            approx_tokens(
                [
                    {
                        "role": "user",
                        "content": judges.RUBRIC.format(
                            question=c.request(t.index)[-1]["content"],
                            reference=t.reference or "",
                            reply=reply_chars,
                            low=p.judge_min,
                            high=p.judge_max,
                        ),
                    }
                ]
            )
            for c, t in turns
        )
        judge_mean = _mean_completion(ctx, endpoint.name, "tokens.judge_completion")
        judge_out = round((judge_mean if judge_mean is not None else JUDGE_OUT) * len(turns))
        judge_cost = (
            judge_in * judge_endpoint.price_input + judge_out * judge_endpoint.price_output
        ) / 1e6
        out.update(judgeEndpoint=judge_endpoint.name, judgeInputTokens=judge_in)
        out["judgeOutputTokens"] = judge_out
        out["cost"] = {"model": model_cost, "judge": judge_cost, "total": model_cost + judge_cost}
    return out
