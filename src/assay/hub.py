"""The Python SDK, shaped like seed 001's ``t9k.ah``::

    from assay import hub
    hub.login(host="http://127.0.0.1:8080", api_key="assay_...")   # or nothing: embedded
    folder = hub.create_folder(type_="model", name="image-classification")
    model = folder.create_asset(name="mnist-cnn-keras")
    branch = model.create_branch(name="v1")
    branch.create_commit(message="weights", add=["model.onnx"])
    dataset = hub.get_folder(type_="dataset", name="image-classification").get_asset(name="mnist")
    branch.create_evaluation(metrics={"loss": 1.47, "accuracy": 0.99}, dataset=dataset)
    branch.list_evaluation()
    hub.delete_evaluation(evaluation_id=...)

Without ``login`` (and without stored credentials or ASSAY_HOST) every call works on the
embedded instance in ``$ASSAY_HOME``. Failures raise ``assay.errors`` classes.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import quote

from assay import errors
from assay.core.names import TYPE_TITLES
from assay.core.refs import parse_folder
from assay.sdk import llm_data
from assay.sdk.client import Client, Credentials, save_credentials
from assay.sdk.comparison import Comparison
from assay.sdk.jobs import Job, Version
from assay.sdk.objects import Asset, Branch, Folder, Tag, ref_of

__all__ = [
    "Asset",
    "Branch",
    "Client",
    "Folder",
    "Job",
    "Tag",
    "Version",
    "compare",
    "create_endpoint",
    "create_evaluation",
    "create_folder",
    "create_job",
    "create_pool",
    "create_user",
    "delete_endpoint",
    "delete_evaluation",
    "delete_folder",
    "diff",
    "download_artifact",
    "errors",
    "estimate",
    "get_asset",
    "get_evaluation",
    "get_folder",
    "get_job",
    "get_version",
    "import_dataset",
    "list_endpoints",
    "list_evaluation",
    "list_folders",
    "list_jobs",
    "list_pools",
    "list_presets",
    "list_samples",
    "login",
    "logout",
    "pin",
    "use_client",
    "whoami",
]

log = logging.getLogger("assay")
_client: Client | None = None


def _sdk_client() -> Client:
    return Client(source="sdk")


_client_factory: Callable[[], Client] = _sdk_client


def _setup_logging() -> None:
    """Print INFO lines like seed 001's SDK unless the application configured logging."""
    if not log.handlers and not logging.getLogger().handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("ASSAY %(levelname)s: %(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)


_setup_logging()


def client() -> Client:
    global _client
    if _client is None:
        _client = _client_factory()
    return _client


def use_client(new: Client) -> None:
    """Make every hub call go through ``new`` (the CLI uses this to mark its requests)."""
    global _client
    if _client is not None and _client is not new:
        _client.close()
    _client = new


def login(host: str | None = None, api_key: str | None = None) -> dict[str, Any]:
    """Log in to a server and remember the credentials; without arguments, check the stored
    ones (or the embedded instance) still work."""
    new = Client(host, api_key, source="sdk") if host or api_key else Client(source="sdk")
    me: dict[str, Any] = new.get("/users/me")
    if host and api_key:
        save_credentials(new.settings, Credentials(host.rstrip("/"), api_key))
    use_client(new)
    log.info("Logged in to %s as user %s", new.host or "the embedded instance", me["name"])
    return me


def logout() -> None:
    """Forget stored credentials; later calls use the embedded instance."""
    current = client()
    save_credentials(current.settings, None)
    use_client(Client(source=current.source))


def whoami() -> dict[str, Any]:
    return client().get("/users/me")  # type: ignore[no-any-return]


def create_user(name: str, admin: bool = False) -> dict[str, Any]:
    """Create a user (admin only); the answer holds its API key, shown this once."""
    return client().post("/users", {"name": name, "admin": admin})  # type: ignore[no-any-return]


def create_folder(type_: str, name: str) -> Folder:
    parsed_type, folder = parse_folder(name, type_hint=type_)
    assert parsed_type is not None
    log.info("Creating %s Folder %s", TYPE_TITLES.get(parsed_type, parsed_type), folder)
    return Folder(client(), client().post("/folders", {"type": parsed_type, "name": folder}))


def get_folder(type_: str, name: str) -> Folder:
    for data in client().get("/folders", type=type_):
        if data["name"] == name:
            return Folder(client(), data)
    raise errors.NotFound(f"{TYPE_TITLES.get(type_, type_)} Folder {name!r} does not exist")


def list_folders(type_: str | None = None) -> list[Folder]:
    return [Folder(client(), d) for d in client().get("/folders", type=type_)]


def delete_folder(type_: str, name: str, force: bool = False) -> None:
    log.info("Deleting %s Folder %s", TYPE_TITLES.get(type_, type_), name)
    client().delete(f"/folders/{type_}/{name}", force=force or None)


def get_asset(ref: str, type_: str | None = None) -> Asset:
    """The asset a ref names, e.g. ``image-classification/mnist-cnn-keras``."""
    return Asset(client(), client().get("/assets/lookup", ref=ref, type=type_)["asset"])


def create_evaluation(
    model: Asset | Branch | Tag | str, dataset: Asset | Branch | Tag | str, metrics: dict[str, Any]
) -> dict[str, Any]:
    c = client()
    ev: dict[str, Any] = c.post(
        "/evaluations",
        {
            "model": ref_of(model) if model is not None else None,
            "dataset": ref_of(dataset) if dataset is not None else None,
            "metrics": metrics,
            "source": c.source,
        },
    )
    log.info(
        "Creating evaluation of commit %s of Model %s",
        ev["modelCommit"][:8],
        ev["modelRef"].split(":")[0].rsplit("/", 1)[-1],
    )
    return ev


def list_evaluation(
    ref: Asset | Branch | Tag | str | None = None,
    all_commits: bool = False,
    limit: int = 100,
    **filters: Any,
) -> list[dict[str, Any]]:
    """Evaluations newest first: all you can see, or those of the commit a ref names.
    ``filters``: model, dataset (refs), job, state, creator, since (ISO date), metric (a
    list of conditions such as "accuracy>0.9"), cursor (the last row's ``startTime|id``)."""
    unknown = set(filters) - {
        "model",
        "dataset",
        "job",
        "state",
        "creator",
        "since",
        "metric",
        "cursor",
        "fresh",
    }
    if unknown:
        raise errors.InvalidInput(f"unknown filter(s): {', '.join(sorted(unknown))}")
    return client().get(  # type: ignore[no-any-return]
        "/evaluations",
        ref=ref_of(ref) if ref is not None else None,
        all_commits=all_commits or None,
        limit=limit,
        **filters,
    )


def get_evaluation(evaluation_id: str) -> dict[str, Any]:
    return client().get(f"/evaluations/{evaluation_id}")  # type: ignore[no-any-return]


def delete_evaluation(evaluation_id: str) -> None:
    log.info("Deleting evaluation with ID %s", evaluation_id)
    client().delete(f"/evaluations/{evaluation_id}")


def create_job(
    name: str,
    model: Asset | Branch | Tag | str | None = None,
    dataset: Asset | Branch | Tag | str | None = None,
    type: str = "custom",
    code: Asset | Branch | Tag | str | None = None,
    launch: str | None = None,
    params: dict[str, Any] | None = None,
    description: str = "",
    endpoint: str | None = None,
    runtime: str | None = None,
    **resources: Any,
) -> Job:
    """Create a job and queue its first version, V0001. ``resources``: pool, timeout, cpu,
    memory (bytes or '8GiB'), gpu, priority, debug; and model_path / data_path (storage
    locations) instead of model / dataset. An ``llm`` job names an ``endpoint`` instead of a
    model. ``runtime``: ``NAME`` or ``NAME:N`` of a runtime its tasks run in."""
    c = client()
    if isinstance(dataset, str) and dataset.startswith(llm_data.PRESET_PREFIX):
        dataset = llm_data.preset_dataset(c, dataset)
    c.post(
        "/jobs",
        {
            "name": name,
            "description": description,
            "type": type,
            "model": ref_of(model) if model is not None else None,
            "dataset": ref_of(dataset) if dataset is not None else None,
            "code": ref_of(code) if code is not None else None,
            "launch": launch,
            "endpoint": endpoint,
            "runtime": runtime,
            "params": params or {},
            **resources,
        },
    )
    log.info("Created job %s and queued V0001", name)
    return Job(c, name)


def get_job(name: str) -> Job:
    client().get(f"/jobs/{name}/versions")
    return Job(client(), name)


def list_jobs() -> list[dict[str, Any]]:
    return client().get("/jobs")  # type: ignore[no-any-return]


def get_version(ref: str) -> Version:
    """A version by ``JOB:V0001``."""
    job, _, name = ref.partition(":")
    return Job(client(), job).get_version(name)


def list_pools() -> list[dict[str, Any]]:
    return client().get("/pools")  # type: ignore[no-any-return]


def create_pool(
    name: str,
    cpu: float | None = None,
    memory: int | str = 0,
    gpu: int = 0,
    backend: str = "local",
    address: str | None = None,
) -> dict[str, Any]:
    """A resource pool: ``backend="ray"`` with ``address="ray://HOST:10001"`` runs its tasks on
    that Ray cluster. ``cpu`` None: this machine's CPUs, or the cluster's."""
    body: dict[str, Any] = {"name": name, "cpu": cpu, "memory": memory, "gpu": gpu}
    body["backend"] = backend
    if address is not None:
        body["address"] = address
    return client().post("/pools", body)  # type: ignore[no-any-return]


def create_endpoint(
    name: str,
    base_url: str,
    model: str,
    api_key: str | None = None,
    max_concurrency: int = 32,
    rpm: int | None = None,
    tpm: int | None = None,
    price_input: float = 0.0,
    price_output: float = 0.0,
    batch: bool = False,
    model_ref: Asset | Branch | Tag | str | None = None,
) -> dict[str, Any]:
    """Register an OpenAI-compatible endpoint for llm jobs. Prices are USD per 1M tokens.
    The API key is kept by the server and never shown again."""
    data: dict[str, Any] = client().post(
        "/endpoints",
        {
            "name": name,
            "baseUrl": base_url,
            "model": model,
            "apiKey": api_key,
            "maxConcurrency": max_concurrency,
            "rpm": rpm,
            "tpm": tpm,
            "priceInput": price_input,
            "priceOutput": price_output,
            "batch": batch,
            "modelRef": ref_of(model_ref) if model_ref is not None else None,
        },
    )
    log.info("Created endpoint %s", name)
    return data


def estimate(
    endpoint: str, dataset: Asset | Branch | Tag | str, params: dict[str, Any] | None = None
) -> dict[str, Any]:
    """Input and output tokens and the cost of an llm job, before running it."""
    if isinstance(dataset, str) and dataset.startswith(llm_data.PRESET_PREFIX):
        dataset = llm_data.preset_dataset(client(), dataset)
    return client().post(  # type: ignore[no-any-return]
        f"/endpoints/{quote(endpoint, safe='')}/estimate",
        {"dataset": ref_of(dataset), "params": params or {}},
    )


def compare(
    candidates: list[str] | str,
    baseline: str | None = None,
    metrics: list[str] | None = None,
    confidence: float = 0.95,
    resamples: int = 2000,
    seed: int = 0,
) -> Comparison:
    """Each candidate (an evaluation id or ``JOB:V0002``) against the baseline (default: the
    one pinned for the first candidate's job, else its model): metric and
    per-class deltas, and on a shared dataset commit the fixed/regressed samples with
    McNemar p-values (Holm-corrected), bootstrap intervals and samples needed."""
    data = client().post(
        "/compare",
        {
            "baseline": baseline,
            "candidates": [candidates] if isinstance(candidates, str) else candidates,
            "metrics": metrics,
            "confidence": confidence,
            "resamples": resamples,
            "seed": seed,
        },
    )
    return Comparison.from_json(data)


def pin(evaluation: str, job: str | None = None, model: str | None = None) -> dict[str, Any]:
    """Pin an evaluation (id or ``JOB:V0001``) as the baseline of a job or a model."""
    return client().put(  # type: ignore[no-any-return]
        "/pins", {"evaluation": evaluation, "job": job, "model": model}
    )


def diff(baseline: str, candidate: str, only: str | None = None, limit: int = 50) -> dict[str, Any]:
    """Samples fixed or regressed between two evaluations of the same dataset commit, with
    both sides' predictions (``only``: "fixed" or "regressed")."""
    return client().post(  # type: ignore[no-any-return]
        "/diff", {"baseline": baseline, "candidate": candidate, "only": only, "limit": limit}
    )


def list_presets() -> list[dict[str, Any]]:
    """The evaluation sets Assay ships (``--dataset preset:NAME``)."""
    from assay import presets

    return [
        {"name": p.name, "description": p.description, "scoring": p.scoring, "samples": p.size}
        for p in presets.PRESETS.values()
    ]


def import_dataset(ref: str, format: str, files: list[str | Path]) -> str:
    """Convert files a user has (``mmlu-csv``, ``gsm8k-jsonl``) into an LLM dataset and
    commit it to ``ref`` (folder and asset made when missing); returns the ref."""
    from assay import importers

    text, defaults = importers.convert(format, [Path(f) for f in files])
    done = llm_data.commit_jsonl(client(), ref, text, defaults, f"import {format}")
    log.info("Imported %d lines into %s", text.count("\n"), done)
    return done


def list_endpoints() -> list[dict[str, Any]]:
    return client().get("/endpoints")  # type: ignore[no-any-return]


def delete_endpoint(name: str) -> None:
    client().delete(f"/endpoints/{quote(name, safe='')}")
    log.info("Deleted endpoint %s", name)


def create_runtime(
    name: str, requirements: str | Path, python: str | None = None
) -> dict[str, Any]:
    """Add a version of runtime ``name`` (created with its first) from a requirements file
    (a path) or its text; the same contents as the latest version return that version
    (``created`` False). Jobs then name ``runtime="NAME"`` or ``"NAME:N"``."""
    text = Path(requirements).read_text() if isinstance(requirements, Path) else requirements
    data: dict[str, Any] = client().post(
        "/runtimes", {"name": name, "requirements": text, "python": python}
    )
    log.info("%s runtime %s", "Created" if data["created"] else "Unchanged:", data["ref"])
    return data


def list_runtimes() -> list[dict[str, Any]]:
    return client().get("/runtimes")  # type: ignore[no-any-return]


def delete_runtime(name: str) -> None:
    client().delete(f"/runtimes/{quote(name, safe='')}")
    log.info("Deleted runtime %s", name)


def list_samples(
    evaluation_id: str,
    where: str | None = None,
    order_by: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[dict[str, Any]]:
    """Per-sample rows of an evaluation, e.g. ``where="correct = false"``."""
    page = client().get(
        f"/evaluations/{evaluation_id}/samples",
        where=where,
        order_by=order_by,
        limit=limit,
        offset=offset,
    )
    return page["rows"]  # type: ignore[no-any-return]


def download_artifact(evaluation_id: str, name: str, output: str | Path) -> Path:
    """Write one of an evaluation's artifacts (a PNG, a table) to ``output``."""
    target = Path(output)
    client().download(f"/evaluations/{evaluation_id}/artifacts/{quote(name)}", target, {})
    return target
