"""Comparing evaluations against a baseline: metric deltas, per-class deltas, and, when they
measured the same dataset commit with per-sample rows, which samples got fixed or regressed
and whether each difference is real (McNemar, paired bootstrap, Holm) or noise.

A metric maps to a per-sample column when it is exactly that column's mean: ``accuracy`` is
the mean of ``correct``; an llm ``<scorer>.accuracy`` the mean of that scorer's column over
the answered turns; ``judge.mean`` the mean of ``judge``.
"""

from __future__ import annotations

import math
import re
from typing import Any

import numpy as np
from sqlalchemy import select

from assay.core.errors import InvalidInput, NotFound
from assay.core.refs import parse_ref, parse_version_ref
from assay.db.models import Evaluation, Pin
from assay.metrics import coco_images, segmentation, significance
from assay.services import evaluations, hub, jobs
from assay.services.context import Ctx
from assay.services.samples import read_table

# Lower is better for these (by name or prefix); higher for every other metric.
LOWER = re.compile(r"^(log_loss|error_rate|cost|latency\.|tokens\.|judge\.errors)")
EXAMPLES = 5


def lower_is_better(metric: str) -> bool:
    return bool(LOWER.match(metric))


def resolve(ctx: Ctx, ident: str) -> Evaluation:
    """An evaluation by id, or the evaluation a job version produced (``JOB:V0002``)."""
    if ":" not in ident:
        return evaluations.get(ctx, ident)
    job_name, version_name = parse_version_ref(ident)
    _job, version = jobs.get_version(ctx, job_name, version_name)
    found = ctx.session.scalar(select(Evaluation).where(Evaluation.version_id == version.id))
    if found is None:
        raise NotFound(f"{ident} has no evaluation yet (it is {version.state})")
    return found


def _numbers(metrics: dict[str, Any]) -> dict[str, float]:
    return {
        k: float(v)
        for k, v in metrics.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
    }


def _per_class(base: dict[str, Any], cand: dict[str, Any]) -> dict[str, dict[str, float]]:
    a, b = base.get("per_class"), cand.get("per_class")
    if not isinstance(a, dict) or not isinstance(b, dict):
        return {}
    out: dict[str, dict[str, float]] = {}
    for cls in sorted(set(a) & set(b)):
        if isinstance(a[cls], dict) and isinstance(b[cls], dict):
            shared = _numbers(a[cls]).keys() & _numbers(b[cls]).keys()
            out[cls] = {k: float(b[cls][k]) - float(a[cls][k]) for k in sorted(shared)}
    return out


def _column(metric: str, columns: set[str]) -> str | None:
    if metric == "accuracy" and "correct" in columns:
        return "correct"
    if metric.endswith(".accuracy") and metric.count(".") == 1:
        name = metric.split(".")[0]
        return name if name in columns else None
    if metric == "judge.mean" and "judge" in columns:
        return "judge"
    return None


def _paired(ctx: Ctx, base: Evaluation, cand: Evaluation) -> tuple[Any, list[str], set[str]]:
    """Both evaluations' per-sample rows joined on id (and turn) in Arrow, sorted by key:
    (table with ``a.COL`` and ``b.COL`` columns, key names, shared column names)."""
    assert base.samples_sha256 is not None and cand.samples_sha256 is not None
    ta, tb = read_table(ctx, base.samples_sha256), read_table(ctx, cand.samples_sha256)
    keys = [k for k in ("id", "turn") if k in ta.column_names and k in tb.column_names]
    if "id" not in keys:
        raise InvalidInput("the per-sample rows have no id column to pair samples by")
    import pyarrow as pa

    # Columns of type null (all values missing, e.g. no errors at all) hold nothing to pair.
    shared = {
        c
        for c in (set(ta.column_names) & set(tb.column_names)) - set(keys)
        if not pa.types.is_null(ta.schema.field(c).type)
        and not pa.types.is_null(tb.schema.field(c).type)
    }

    # Join the keys with row numbers only (Arrow cannot carry list columns through a
    # join), then take each side's columns in the joined order.
    def rows(table: Any, name: str) -> Any:
        return table.select(keys).append_column(name, pa.array(np.arange(table.num_rows)))

    pairs = rows(ta, "#a").join(rows(tb, "#b"), keys=keys, join_type="inner")
    pairs = pairs.sort_by([(k, "ascending") for k in keys])
    columns = {k: pairs[k] for k in keys}
    for c in sorted(shared):
        columns[f"a.{c}"] = ta[c].take(pairs["#a"])
        columns[f"b.{c}"] = tb[c].take(pairs["#b"])
    joined = pa.table(columns)
    return joined, keys, shared


def _keys(joined: Any, keys: list[str], rows: Any, single: bool) -> list[str]:
    picked = joined.select(keys).take(rows).to_pylist()
    return [_show(tuple(r[k] for k in keys), single) for r in picked]


def _samples(
    ctx: Ctx, base: Evaluation, cand: Evaluation, metrics: list[str], p: dict[str, Any]
) -> tuple[dict[str, Any] | None, str | None]:
    """The sample-level comparison, or why there is none."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if base.dataset_commit_id != cand.dataset_commit_id:
        return None, (
            "the evaluations measured different dataset commits "
            f"({base.dataset_commit_id[:8]} and {cand.dataset_commit_id[:8]}): metric deltas "
            "are shown, but samples cannot be paired"
        )
    if base.samples_sha256 is None or cand.samples_sha256 is None:
        return None, "one of the evaluations has no per-sample rows to pair"
    joined, keys, columns = _paired(ctx, base, cand)
    if joined.num_rows == 0:
        return None, "the two evaluations share no sample id"
    out: dict[str, Any] = {"paired": joined.num_rows, "metrics": {}}
    single = "turn" not in keys or pc.max(joined["turn"]).as_py() == 1
    for metric in metrics:
        col = _column(metric, columns)
        if col is None:
            continue
        # Pairs where both sides have a value (an llm turn with an error has none).
        both = pc.and_(pc.is_valid(joined[f"a.{col}"]), pc.is_valid(joined[f"b.{col}"]))
        kept = joined.filter(both)
        if kept.num_rows == 0:
            continue
        boolean = pa.types.is_boolean(kept[f"a.{col}"].type)
        x = kept[f"a.{col}"].to_numpy(zero_copy_only=False).astype(np.float64)
        y = kept[f"b.{col}"].to_numpy(zero_copy_only=False).astype(np.float64)
        boot = significance.paired_bootstrap(
            x, y, resamples=p["resamples"], confidence=p["confidence"], seed=p["seed"]
        )
        entry: dict[str, Any] = {
            "column": col,
            "n": kept.num_rows,
            "delta": boot.delta,
            "interval": [boot.low, boot.high],
            "samplesNeeded": significance.samples_needed(x, y, alpha=1 - p["confidence"]),
        }
        if boolean:
            test = significance.mcnemar(x.astype(bool), y.astype(bool))
            entry.update(test="mcnemar", pValue=test.p_value)
        else:
            entry.update(test="bootstrap", pValue=None)
        fixed, regressed = np.flatnonzero(y > x), np.flatnonzero(y < x)
        entry.update(
            fixed=len(fixed),
            regressed=len(regressed),
            unchanged=kept.num_rows - len(fixed) - len(regressed),
            fixedExamples=_keys(kept, keys, fixed[:EXAMPLES], single),
            regressedExamples=_keys(kept, keys, regressed[:EXAMPLES], single),
        )
        out["metrics"][metric] = entry
    out["metrics"].update(_over_images(joined, keys, columns, single, metrics, p))
    return out, None


# Metrics that are no mean of a per-sample column, recomputed from per-image columns under
# each bootstrap resample of the images: (needed columns, builder, per-image proxy column
# and whether it is better higher, for counting images fixed and regressed).
OVER_IMAGES: dict[str, tuple[tuple[str, ...], Any, str, bool]] = {
    **dict.fromkeys(
        coco_images.AP_KEYS,
        (coco_images.COLUMNS, coco_images.ImageAP, "errors50", False),
    ),
    **dict.fromkeys(
        segmentation.MEANS, (segmentation.COLUMNS, segmentation.ImageCounts, "IoU", True)
    ),
}


def _over_images(
    joined: Any,
    keys: list[str],
    columns: set[str],
    single: bool,
    metrics: list[str],
    p: dict[str, Any],
) -> dict[str, Any]:
    """Paired bootstrap over images of COCO AP / mIoU & co., with images fixed/regressed."""
    wanted = [m for m in metrics if m in OVER_IMAGES and set(OVER_IMAGES[m][0]) <= columns]
    if not wanted:
        return {}
    needed, build, proxy, higher = OVER_IMAGES[wanted[0]]
    side = {
        prefix: build(*(joined[f"{prefix}.{c}"].to_pylist() for c in needed))
        for prefix in ("a", "b")
    }
    found = significance.paired_bootstrap_of(
        side["a"],
        side["b"],
        joined.num_rows,
        resamples=p["resamples"],
        confidence=p["confidence"],
        seed=p["seed"],
    )
    x, y = (_proxy(joined, prefix, proxy) for prefix in ("a", "b"))
    if not higher:
        x, y = -x, -y
    fixed, regressed = np.flatnonzero(y > x), np.flatnonzero(y < x)
    out = {}
    for metric in wanted:
        boot = found[metric]
        if not math.isfinite(boot.delta):
            continue
        out[metric] = {
            "column": f"{proxy} (bootstrap over images)",
            "n": joined.num_rows,
            "delta": boot.delta,
            "interval": [boot.low, boot.high],
            "samplesNeeded": None,
            "test": "bootstrap",
            "pValue": None,
            "fixed": len(fixed),
            "regressed": len(regressed),
            "unchanged": joined.num_rows - len(fixed) - len(regressed),
            "fixedExamples": _keys(joined, keys, fixed[:EXAMPLES], single),
            "regressedExamples": _keys(joined, keys, regressed[:EXAMPLES], single),
        }
    return out


def _proxy(joined: Any, prefix: str, proxy: str) -> Any:
    if proxy == "errors50":  # false positives and misses at IoU 0.5
        return (
            joined[f"{prefix}.fp50"].to_numpy(zero_copy_only=False)
            + joined[f"{prefix}.missed50"].to_numpy(zero_copy_only=False)
        ).astype(np.float64)
    return joined[f"{prefix}.{proxy}"].to_numpy(zero_copy_only=False).astype(np.float64)


def _show(key: tuple[Any, ...], single: bool) -> str:
    return str(key[0]) if single else f"{key[0]}#{key[1]}"


def compare(
    ctx: Ctx,
    baseline: str | None,
    candidates: list[str],
    *,
    metrics: list[str] | None = None,
    confidence: float = 0.95,
    resamples: int = significance.RESAMPLES,
    seed: int = 0,
) -> dict[str, Any]:
    if not candidates:
        raise InvalidInput("name at least one evaluation to compare with the baseline")
    pinned = baseline is None
    if baseline is None:
        baseline = pinned_for(ctx, candidates[0])
    if not 0.5 <= confidence < 1:
        raise InvalidInput("confidence must be from 0.5 to below 1, e.g. 0.95")
    if not 100 <= resamples <= 100_000:
        raise InvalidInput("resamples must be from 100 to 100,000")
    base = resolve(ctx, baseline)
    base_numbers = _numbers(base.metrics)
    p = {"confidence": confidence, "resamples": resamples, "seed": seed}
    results = []
    for ident in candidates:
        cand = resolve(ctx, ident)
        cand_numbers = _numbers(cand.metrics)
        shared = sorted(base_numbers.keys() & cand_numbers.keys())
        if metrics:
            missing = [m for m in metrics if m not in shared]
            if missing:
                raise InvalidInput(
                    f"{ident} and {baseline} do not both have metric(s) {', '.join(missing)}; "
                    f"shared: {', '.join(shared) or 'none'}"
                )
            shared = list(metrics)
        if not shared:
            raise InvalidInput(f"{ident} and {baseline} have no metric in common")
        rows = [
            {
                "metric": m,
                "baseline": base_numbers[m],
                "candidate": cand_numbers[m],
                "delta": cand_numbers[m] - base_numbers[m],
                "lowerIsBetter": lower_is_better(m),
            }
            for m in shared
        ]
        samples, why = _samples(ctx, base, cand, shared, p)
        results.append(
            {
                "candidate": ident,
                "candidateId": cand.id,
                "stale": _stale(ctx, cand),
                "metrics": rows,
                "perClass": _per_class(base.metrics, cand.metrics),
                "samples": samples,
                "samplesNote": why,
            }
        )
    _holm(results, 1 - confidence)
    return {
        "baseline": baseline,
        "baselineId": base.id,
        "baselinePinned": pinned,
        "baselineStale": _stale(ctx, base),
        "confidence": confidence,
        "resamples": resamples,
        "seed": seed,
        "candidates": results,
    }


def _stale(ctx: Ctx, ev: Evaluation) -> str | None:
    return evaluations.stale_reason(ev, evaluations.branch_heads(ctx, [ev]))


def _holm(results: list[dict[str, Any]], alpha: float) -> None:
    """Correct every McNemar p-value of the comparison together; mark significance."""
    tested = [entry for r in results if r["samples"] for entry in r["samples"]["metrics"].values()]
    with_p = [e for e in tested if e["pValue"] is not None]
    for e, adjusted in zip(with_p, significance.holm([e["pValue"] for e in with_p]), strict=True):
        e["pHolm"] = adjusted
    for e in tested:
        if e["pValue"] is not None:
            e["significant"] = e["pHolm"] < alpha
        else:  # no test statistic: the bootstrap interval decides
            low, high = e["interval"]
            e["significant"] = low > 0 or high < 0


# Per-sample columns shown side by side in a diff, when a row has them.
SHOWN = ("label", "prediction", "confidence", "reference", "reply", "IoU", "error")


def diff(
    ctx: Ctx, baseline: str, candidate: str, *, only: str | None = None, limit: int = 50
) -> dict[str, Any]:
    """The samples whose correctness (or per-sample score) changed between two evaluations
    of the same dataset commit, with both sides' predictions."""
    if only not in (None, "fixed", "regressed"):
        raise InvalidInput("--only must be fixed or regressed")
    if not 1 <= limit <= 10_000:
        raise InvalidInput("--limit must be from 1 to 10,000")
    base, cand = resolve(ctx, baseline), resolve(ctx, candidate)
    if base.dataset_commit_id != cand.dataset_commit_id:
        raise InvalidInput(
            f"{baseline} and {candidate} measured different dataset commits "
            f"({base.dataset_commit_id[:8]} and {cand.dataset_commit_id[:8]}): no samples to pair"
        )
    if base.samples_sha256 is None or cand.samples_sha256 is None:
        raise InvalidInput("one of the evaluations has no per-sample rows")
    import pyarrow.compute as pc

    joined, keys, columns = _paired(ctx, base, cand)
    col = next(
        (
            c
            for c in ("correct", "exact", "prefix", "contains", "regex", "judge", "IoU")
            if c in columns
        ),
        None,
    )
    if col is None:
        raise InvalidInput("the per-sample rows have no correctness or score column to compare")
    single = "turn" not in keys or joined.num_rows == 0 or pc.max(joined["turn"]).as_py() == 1
    both = pc.and_(pc.is_valid(joined[f"a.{col}"]), pc.is_valid(joined[f"b.{col}"]))
    kept = joined.filter(both)
    x = kept[f"a.{col}"].to_numpy(zero_copy_only=False).astype(np.float64)
    y = kept[f"b.{col}"].to_numpy(zero_copy_only=False).astype(np.float64)
    changed = {"fixed": np.flatnonzero(y > x), "regressed": np.flatnonzero(y < x)}
    counts = {k: len(v) for k, v in changed.items()}
    picked = np.sort(np.concatenate([v for k, v in changed.items() if only is None or k == only]))[
        :limit
    ]
    shown = [c for c in (col, *SHOWN) if c in columns]
    names = keys + [f"{side}.{c}" for c in shown for side in ("a", "b")]
    rows: list[dict[str, Any]] = []
    for i, r in zip(picked, kept.select(names).take(picked).to_pylist(), strict=True):
        row: dict[str, Any] = {
            "sample": _show(tuple(r[k] for k in keys), single),
            "change": "fixed" if y[i] > x[i] else "regressed",
            "column": col,
        }
        for c in shown:
            row[f"baseline.{c}"], row[f"candidate.{c}"] = r[f"a.{c}"], r[f"b.{c}"]
        rows.append(row)
    return {"baseline": baseline, "candidate": candidate, "column": col, **counts, "rows": rows}


def _target(ctx: Ctx, job: str | None, model: str | None) -> tuple[str, str, str]:
    """(scope, target id, shown name) of a pin's job or model asset."""
    if (job is None) == (model is None):
        raise InvalidInput("pin a baseline for exactly one of --job NAME or --model REF")
    if job is not None:
        return "job", jobs.get_job(ctx, job).id, f"job {job}"
    assert model is not None
    info = hub.lookup(ctx, parse_ref(model, type_hint="model"))
    if info.type != "model":
        raise InvalidInput(f"{model} is a {info.type}, not a model")
    return "model", info.asset.id, f"model {model}"


def pin(ctx: Ctx, evaluation: str, *, job: str | None, model: str | None) -> dict[str, Any]:
    """Make ``evaluation`` the baseline of a job or a model (replacing an earlier pin)."""
    ev = resolve(ctx, evaluation)
    scope, target, shown = _target(ctx, job, model)
    found = ctx.session.scalar(
        select(Pin).where(Pin.owner_id == ctx.actor.id, Pin.scope == scope, Pin.target_id == target)
    )
    if found is None:
        found = Pin(owner_id=ctx.actor.id, scope=scope, target_id=target, evaluation_id=ev.id)
        ctx.session.add(found)
    else:
        found.evaluation_id = ev.id
    ctx.session.flush()
    return {"pinned": evaluation, "evaluationId": ev.id, "for": shown}


def pinned_for(ctx: Ctx, candidate: str) -> str:
    """The baseline pinned for a candidate: its job's pin (``JOB:V…``), else its model's."""
    ev = resolve(ctx, candidate)
    targets: list[tuple[str, str]] = []
    if ":" in candidate:
        targets.append(("job", jobs.get_job(ctx, parse_version_ref(candidate)[0]).id))
    if ev.model_asset_id is not None:
        targets.append(("model", ev.model_asset_id))
    for scope, target in targets:
        found = ctx.session.scalar(
            select(Pin).where(
                Pin.owner_id == ctx.actor.id, Pin.scope == scope, Pin.target_id == target
            )
        )
        if found is not None:
            return found.evaluation_id
    raise InvalidInput(
        f"no baseline for {candidate}: pass --baseline, or pin one with "
        "`assay pin EVAL --job NAME` (or --model REF)"
    )
