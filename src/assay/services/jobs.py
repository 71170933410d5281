"""Evaluation jobs and their versions: creation with every ref resolved, terminate, delete."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Any

from sqlalchemy import and_, func, or_, select, update

from assay.core.errors import Conflict, InvalidInput, NotFound
from assay.core.names import check_name, check_path
from assay.core.refs import VERSION_NAME as _VERSION
from assay.core.refs import parse_ref
from assay.core.states import ACTIVE, State, check
from assay.db.models import Endpoint, Evaluation, Job, Task, Version, utcnow
from assay.evaluators.registry import BUILTIN
from assay.services import endpoints, history, hub, pools, runtimes, transitions
from assay.services.context import Ctx
from assay.storage import locations

TYPES = ("custom", *BUILTIN)
MAX_SHARDS = 64
RESERVED_PARAMS = ("model_url", "data_url")
RESCORE_OF = "rescore_of"  # llm: the version whose stored replies are scored again
_PARAM = re.compile(r"^[A-Za-z_][A-Za-z0-9_-]{0,63}$")
MAX_TIMEOUT = 30 * 24 * 3600


@dataclass(frozen=True)
class VersionSpec:
    """What a version runs: given at job creation, copied and overridden by later versions."""

    model: str | None = None
    dataset: str | None = None
    model_path: str | None = None
    data_path: str | None = None
    code: str | None = None
    launch: str | None = None
    endpoint: str | None = None  # llm jobs: the endpoint evaluated
    runtime: str | None = None  # NAME (its latest version) or NAME:N
    runtime_version_id: str | None = None  # the exact one a later version copies
    params: dict[str, Any] = field(default_factory=dict)
    pool: str = pools.DEFAULT
    timeout: int = 3600
    cpu: float = 1.0
    memory: int = 0
    gpu: int = 0
    priority: int = 0
    debug: bool = False


def version_name(number: int) -> str:
    return f"V{number:04d}"


def _check_params(params: dict[str, Any]) -> dict[str, Any]:
    for key, value in params.items():
        if not _PARAM.match(key):
            raise InvalidInput(
                f"invalid parameter name {key!r}: letters, digits, '_' or '-', "
                "starting with a letter or '_'"
            )
        if key in RESERVED_PARAMS:
            raise InvalidInput(f"parameter {key!r} is filled in by Assay and cannot be set")
        if not isinstance(value, str | int | float | bool) or (
            isinstance(value, float) and (value != value or value in (float("inf"), float("-inf")))
        ):
            raise InvalidInput(f"parameter {key!r} must be a string, number or boolean")
    return params


def get_job(ctx: Ctx, name: str) -> Job:
    job = ctx.session.scalar(
        select(Job).where(Job.owner_id == ctx.actor.id, Job.name == check_name(name, "job"))
    )
    if job is None:
        raise NotFound(f"no job {name!r}; create it with `assay create job {name} ...`")
    return job


def list_jobs(ctx: Ctx) -> list[tuple[Job, Version | None]]:
    """Jobs of the caller with their latest version (one query for all latest versions)."""
    jobs = list(
        ctx.session.scalars(
            select(Job).where(Job.owner_id == ctx.actor.id).order_by(Job.created_at.desc())
        )
    )
    latest_q = (
        select(Version.job_id, func.max(Version.number).label("n"))
        .where(Version.job_id.in_([j.id for j in jobs]))
        .group_by(Version.job_id)
        .subquery()
    )
    latest = {
        v.job_id: v
        for v in ctx.session.scalars(
            select(Version).join(
                latest_q, and_(Version.job_id == latest_q.c.job_id, Version.number == latest_q.c.n)
            )
        )
    }
    return [(j, latest.get(j.id)) for j in jobs]


def create_job(
    ctx: Ctx, name: str, description: str, type_: str, spec: VersionSpec
) -> tuple[Job, Version]:
    check_name(name, "job")
    if type_ not in TYPES:
        raise InvalidInput(f"unknown evaluation type {type_!r}: one of {', '.join(TYPES)}")
    if len(description) > 4000:
        raise InvalidInput("description is longer than 4000 characters")
    if (
        ctx.session.scalar(select(Job).where(Job.owner_id == ctx.actor.id, Job.name == name))
        is not None
    ):
        raise Conflict(
            f"job {name!r} already exists: add a version with `assay create version {name}`"
        )
    job = Job(owner_id=ctx.actor.id, name=name, description=description, type=type_)
    ctx.session.add(job)
    ctx.session.flush()
    return job, _new_version(ctx, job, spec)


def spec_of(v: Version, pool_name: str) -> VersionSpec:
    return VersionSpec(
        model=v.model_ref,
        dataset=v.dataset_ref,
        model_path=v.model_path,
        data_path=v.data_path,
        code=v.code_ref,
        launch=v.launch,
        endpoint=v.endpoint_name,
        runtime_version_id=v.runtime_version_id,
        params=dict(v.params),
        pool=pool_name,
        timeout=v.timeout,
        cpu=v.cpu,
        memory=v.memory,
        gpu=v.gpu,
        priority=v.priority,
        debug=v.debug,
    )


def create_version(
    ctx: Ctx, job_name: str, overrides: dict[str, Any], base_version: Version | None = None
) -> Version:
    """Copy the latest version's settings (or ``base_version``'s), apply ``overrides``,
    queue the next version."""
    job = get_job(ctx, job_name)
    latest = base_version or ctx.session.scalar(
        select(Version).where(Version.job_id == job.id).order_by(Version.number.desc()).limit(1)
    )
    if latest is None:
        raise NotFound(f"job {job_name!r} has no version to copy settings from")
    pool_name = pools.get_by_id(ctx.session, latest.pool_id).name
    base = spec_of(latest, pool_name)
    params = dict(base.params)
    # A ref given for a version replaces the previous location, and the other way round.
    for ref_key, path_key in (("model", "model_path"), ("dataset", "data_path")):
        if overrides.get(ref_key) is not None:
            overrides[path_key] = None
        elif overrides.get(path_key) is not None:
            overrides[ref_key] = None
    # An llm job evaluates an endpoint or runs a model: naming one replaces the other.
    if job.type == "llm" and overrides.get("endpoint") is not None:
        overrides.update(model=None, model_path=None)
    elif job.type == "llm" and overrides.get("model") is not None:
        overrides["endpoint"] = None
    params.update(overrides.pop("params", None) or {})
    if overrides.get("runtime") is not None:  # a runtime named now replaces the copied one
        overrides["runtime_version_id"] = None
    unknown = set(overrides) - set(VersionSpec.__dataclass_fields__)
    if unknown:
        raise InvalidInput(f"unknown version settings: {', '.join(sorted(unknown))}")
    return _new_version(ctx, job, replace(base, params=params, **overrides))


def _new_version(ctx: Ctx, job: Job, spec: VersionSpec) -> Version:
    _check_params(spec.params)
    if not 0 < spec.timeout <= MAX_TIMEOUT:
        raise InvalidInput(
            f"timeout must be between 1 and {MAX_TIMEOUT} seconds, not {spec.timeout}"
        )
    endpoint = _endpoint(ctx, job, spec)
    model = None if endpoint else _input(ctx, spec.model, spec.model_path, "model")
    dataset = _input(ctx, spec.dataset, spec.data_path, "dataset")
    estimate = _estimate(ctx, spec) if endpoint and isinstance(dataset, hub.Resolved) else None
    if isinstance(dataset, hub.Resolved) and job.type != "custom":
        fmt = dataset.info.asset.format
        if fmt is not None and fmt != job.type:
            raise InvalidInput(
                f"{dataset.info.title} holds a {fmt} dataset; a {job.type} job "
                "cannot evaluate on it"
            )
    code = None
    if job.type != "custom":
        _shards(spec.params)
        if spec.code or spec.launch:
            raise InvalidInput(
                f"a {job.type} job runs Assay's own evaluator: it takes no --code or --launch"
            )
    if job.type == "custom":
        if not spec.code or not spec.launch:
            raise InvalidInput("a custom job needs --code REF and --launch FILE.py")
        code = hub.resolve(ctx, parse_ref(spec.code, type_hint="code"))
        launch = check_path(spec.launch)
        if not launch.endswith(".py"):
            raise InvalidInput(f"launch file {launch!r} is not a .py file")
        files = history.read_manifest(ctx, code.commit)
        if launch not in files:
            shown = ", ".join(p for p in sorted(files) if p.endswith(".py"))[:300]
            raise InvalidInput(
                f"launch file {launch!r} is not in commit {code.commit.id[:8]} of "
                f"{code.info.title} (.py files there: {shown or 'none'})"
            )
    pool = pools.get(ctx.session, spec.pool)
    pools.fits_at_all(pool, spec.cpu, spec.memory, spec.gpu)
    runtime_id = runtimes.resolve(ctx, spec.runtime).id if spec.runtime else spec.runtime_version_id
    number = (
        ctx.session.execute(
            update(Job)
            .where(Job.id == job.id)
            .values(next_number=Job.next_number + 1)
            .returning(Job.next_number)
        ).scalar_one()
        - 1
    )
    now = utcnow()
    version = Version(
        job_id=job.id,
        number=number,
        state=State.QUEUING,
        queued_at=now,
        created_at=now,
        **(_columns("model", "model_path", spec.model, model) if model else {}),
        **_columns("dataset", "data_path", spec.dataset, dataset),
        code_ref=spec.code if code else None,
        code_asset_id=code.info.asset.id if code else None,
        code_commit_id=code.commit.id if code else None,
        code_branch=code.branch if code else None,
        launch=spec.launch if code else None,
        endpoint_id=endpoint.id if endpoint else None,
        endpoint_name=endpoint.name if endpoint else None,
        runtime_version_id=runtime_id,
        estimate=estimate,
        params=spec.params,
        pool_id=pool.id,
        cpu=spec.cpu,
        memory=spec.memory,
        gpu=spec.gpu,
        priority=spec.priority,
        timeout=spec.timeout,
        debug=spec.debug,
    )
    ctx.session.add(version)
    ctx.session.flush()
    ctx.session.add_all(_tasks(job, version))
    ctx.session.flush()
    return version


def _local_model(ctx: Ctx, spec: VersionSpec) -> None:
    assert spec.model
    if spec.params.get("inference") == "batch":
        raise InvalidInput("inference=batch needs an --endpoint that supports the Batch API")
    model = hub.resolve(ctx, parse_ref(spec.model, type_hint="model"))
    if "config.json" not in history.read_manifest(ctx, model.commit):
        raise InvalidInput(
            f"{model.info.title} at {model.commit.id[:8]} holds no config.json: an llm job "
            "without --endpoint runs a transformers model directory from the model commit"
        )


def rescore(ctx: Ctx, job_name: str, version_name: str, params: dict[str, Any]) -> Version:
    """A new version of an llm job that scores ``version_name``'s stored replies again (with
    ``params`` changed: scorers, judge) without asking the model again."""
    job, source = get_version(ctx, job_name, version_name)
    if job.type != "llm":
        raise InvalidInput(f"only llm versions can be re-scored; {job_name} is {job.type}")
    samples = ctx.session.scalar(
        select(Evaluation.samples_sha256).where(Evaluation.version_id == source.id)
    )
    if samples is None:
        raise InvalidInput(
            f"{job_name}:{version_name} has no stored replies to re-score (it is "
            f"{source.state}); run it to completion first"
        )
    overrides = {"params": {**params, RESCORE_OF: version_name}}
    return create_version(ctx, job_name, overrides, base_version=source)


def _endpoint(ctx: Ctx, job: Job, spec: VersionSpec) -> Endpoint | None:
    """An llm job's endpoint (and its judge's, named by a parameter), checked now."""
    if job.type != "llm":
        if spec.endpoint:
            raise InvalidInput(f"--endpoint is for llm jobs; a {job.type} job runs a model")
        return None
    if not spec.endpoint and not spec.model:
        raise InvalidInput(
            "an llm job needs --endpoint NAME (see `assay ls endpoint`), or --model REF of a "
            "transformers model that Assay runs itself"
        )
    if spec.endpoint and (spec.model or spec.model_path):
        raise InvalidInput("an llm job evaluates its --endpoint or its --model, not both")
    if not spec.dataset and not spec.data_path:
        raise InvalidInput("an llm job needs --dataset REF (a JSONL dataset, see docs/llm.md)")
    from assay.evaluators.llm.params import check as check_llm_params

    judge = check_llm_params(spec.params)
    if judge is not None:
        endpoints.get(ctx, judge)
    if not spec.endpoint:  # the local engine: the model commit must hold a model
        _local_model(ctx, spec)
        return None
    endpoint = endpoints.get(ctx, spec.endpoint)
    if spec.params.get("inference") == "batch" and not endpoint.batch:
        raise InvalidInput(
            f"endpoint {endpoint.name!r} was not registered as supporting the Batch API "
            "(--batch); use inference=online"
        )
    return endpoint


def _estimate(ctx: Ctx, spec: VersionSpec) -> dict[str, Any]:
    """An llm version's token and cost estimate (which also validates its dataset now), and
    the budget: a version whose estimate exceeds ``max_cost`` is refused."""
    assert spec.endpoint and spec.dataset
    from assay.services.llm_estimate import estimate

    found = estimate(ctx, spec.endpoint, spec.dataset, spec.params)
    budget = spec.params.get("max_cost")
    if budget is not None and found["cost"]["total"] > float(budget):
        raise InvalidInput(
            f"the estimated cost ${found['cost']['total']:.4f} exceeds --max-cost "
            f"${float(budget):.4f} (input {found['inputTokens']:,} tokens, output "
            f"{found['outputTokens']:,}; see `assay estimate`)"
        )
    return found


def _shards(params: dict[str, Any]) -> int:
    value = params.get("shards", 1)
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_SHARDS:
        raise InvalidInput(f"parameter shards must be a whole number from 1 to {MAX_SHARDS}")
    return value


def _tasks(job: Job, version: Version) -> list[Task]:
    """A custom script is one task, and so is a built-in evaluation of one shard (it scores
    and merges in one process: one worker start less); more shards are shard tasks, then a
    merge that waits (Creating) until every shard is done."""
    n = 1 if job.type == "custom" else _shards(version.params)
    if n == 1:
        return [Task(version_id=version.id, index=0, kind="run", state=State.QUEUING)]
    shards = [
        Task(version_id=version.id, index=i, kind="shard", state=State.QUEUING) for i in range(n)
    ]
    return [*shards, Task(version_id=version.id, index=n, kind="merge", state=State.CREATING)]


def _input(
    ctx: Ctx, ref: str | None, location: str | None, kind: str
) -> hub.Resolved | tuple[str, str]:
    """A registered ref resolved to its commit, or a storage location checked and hashed."""
    flag = "--model-path" if kind == "model" else "--data-path"
    if (ref is None) == (location is None):
        raise InvalidInput(
            f"give the {kind} as a registered ref (--{kind}) or a storage "
            f"location ({flag}), exactly one of them"
        )
    if ref is not None:
        return hub.resolve(ctx, parse_ref(ref, type_hint=kind))
    assert location is not None
    real = locations.check(location, ctx.settings.storage_root_list, embedded=ctx.embedded)
    return str(real), locations.content_hash(real)


def _columns(
    kind: str, path_key: str, ref: str | None, value: hub.Resolved | tuple[str, str]
) -> dict[str, Any]:
    if isinstance(value, tuple):
        return {path_key: value[0], f"{path_key}_sha256": value[1]}
    return {
        f"{kind}_ref": ref,
        f"{kind}_asset_id": value.info.asset.id,
        f"{kind}_commit_id": value.commit.id,
        f"{kind}_rev": value.rev,
        f"{kind}_branch": value.branch,
    }


def get_version(ctx: Ctx, job_name: str, name: str) -> tuple[Job, Version]:
    job = get_job(ctx, job_name)
    m = _VERSION.match(name)
    version = (
        ctx.session.scalar(
            select(Version).where(Version.job_id == job.id, Version.number == int(m.group(1)))
        )
        if m
        else None
    )
    if version is None:
        raise NotFound(f"job {job_name!r} has no version {name!r}")
    return job, version


def list_versions(ctx: Ctx, job_name: str) -> tuple[Job, list[Version]]:
    job = get_job(ctx, job_name)
    return job, list(
        ctx.session.scalars(
            select(Version).where(Version.job_id == job.id).order_by(Version.number.desc())
        )
    )


def list_tasks(ctx: Ctx, version: Version) -> list[Task]:
    return list(
        ctx.session.scalars(select(Task).where(Task.version_id == version.id).order_by(Task.index))
    )


def terminate(ctx: Ctx, job: Job, version: Version) -> Version:
    """Stop a version. A running one's worker is stopped by the scheduler within a tick."""
    what = f"{job.name}:{version_name(version.number)}"
    check(version.state, State.TERMINATED, what)
    if not transitions.move(
        ctx.session,
        version,
        State.TERMINATED,
        f"terminated by {ctx.actor.name}",
        expect=State(version.state),
    ):
        raise Conflict(f"{what} changed state meanwhile; look again")
    for task in list_tasks(ctx, version):
        if task.state in (State.CREATING, State.QUEUING):
            task.state = State.TERMINATED  # a running one is stopped by the scheduler
    return version


def delete_version(ctx: Ctx, job: Job, version: Version) -> None:
    if version.state in ACTIVE:
        terminate(ctx, job, version)
    ctx.session.delete(version)
    ctx.session.flush()  # before the job row goes, whose deletion would cascade to versions


def delete_job(ctx: Ctx, job_name: str) -> Job:
    job, versions = list_versions(ctx, job_name)
    for v in versions:
        delete_version(ctx, job, v)
    ctx.session.delete(job)
    return job


def queue_positions(ctx: Ctx, versions: list[Version]) -> dict[str, int]:
    """1-based place in its pool's queue of each queuing version (priority, then age)."""
    out: dict[str, int] = {}
    for v in versions:
        if v.state != State.QUEUING or v.queued_at is None:
            continue
        ahead = ctx.session.scalar(
            select(func.count())
            .select_from(Version)
            .where(
                Version.pool_id == v.pool_id,
                Version.state == State.QUEUING,
                or_(
                    Version.priority > v.priority,
                    and_(Version.priority == v.priority, Version.queued_at < v.queued_at),
                ),
            )
        )
        out[v.id] = int(ahead or 0) + 1
    return out
