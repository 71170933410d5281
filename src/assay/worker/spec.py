"""The task spec a scheduler hands a worker: everything it needs, nothing it must not see."""

from __future__ import annotations

from dataclasses import dataclass, field, fields
from typing import Any

RESULT_FILE = "_worker.json"
# The standard variables an S3 client reads (boto's), handed to workers when storage is an
# object store.
STORAGE_VARIABLES = (
    "AWS_ACCESS_KEY_ID",
    "AWS_SECRET_ACCESS_KEY",
    "AWS_SESSION_TOKEN",
    "AWS_DEFAULT_REGION",
    "AWS_REGION",
    "AWS_ENDPOINT_URL",
    "AWS_ENDPOINT_URL_S3",
    "AWS_CA_BUNDLE",
    "AWS_PROFILE",
    "AWS_SHARED_CREDENTIALS_FILE",
    "AWS_CONFIG_FILE",
)


@dataclass
class TaskSpec:
    storage_url: str
    workdir: str
    launch: str
    params: dict[str, Any]
    inputs: dict[str, list[list[Any]]]  # "code" | "model" | "data" -> [[path, sha256, size]]
    # "model" | "data" -> storage location (a real directory) read instead of a commit
    locations: dict[str, str] = field(default_factory=dict)
    storage_roots: list[str] = field(default_factory=list)
    embedded: bool = False
    evaluator: str | None = None  # a built-in job type; None runs the launch file
    # Built-in evaluators only read their inputs: link them to local blobs instead of copying
    # (a custom script gets real copies it may change).
    link_inputs: bool = False
    stage: str = "run"  # "run" | "shard" | "merge"
    shard: int = 0
    shards: int = 1
    memory: int = 0  # bytes of address space for the script; 0 = no limit
    cpus: float = 1.0  # the version's requests, for a backend that places tasks (Ray)
    gpus: int = 0
    cpu_seconds: int = 0  # CPU-time limit for the script; 0 = no limit
    env: dict[str, str] = field(default_factory=dict)
    # Credentials and endpoint of an object store (AWS_* variables): set inside the worker
    # only, from this file (deleted once read), never in any process's environment.
    storage_env: dict[str, str] = field(default_factory=dict)
    # The runtime version to run in ({"ref", "key", "python", "requirements"}), built or
    # found under runtime_cache (with "provided": True the backend already runs the worker
    # in it, Ray's runtime_env); None: Assay's own environment.
    runtime: dict[str, Any] | None = None
    runtime_cache: str = ""

    def to_dict(self) -> dict[str, Any]:
        # Shallow: ``asdict`` deep-copies every input entry (0.3 s for 20,000 files, on the
        # scheduler's thread, per task launched); JSON needs no copy.
        return {f.name: getattr(self, f.name) for f in fields(self)}
