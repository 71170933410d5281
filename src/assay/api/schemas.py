"""Request and response bodies. JSON keys are camelCase, as in seed 001's SDK output."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from pydantic.alias_generators import to_camel


class Schema(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, from_attributes=True, extra="forbid"
    )


class UserPublic(Schema):
    name: str
    is_admin: bool
    created_at: datetime


class UserCreate(Schema):
    name: str
    admin: bool = False


class UserCreated(UserPublic):
    api_key: str


class FolderCreate(Schema):
    type: str
    name: str


class FolderPublic(Schema):
    type: str
    name: str
    owner: str
    assets: int = 0
    created_at: datetime


class AssetCreate(Schema):
    type: str
    folder: str
    name: str
    format: str | None = None


class AssetPublic(Schema):
    id: str
    type: str
    folder: str
    name: str
    owner: str
    path: str
    format: str | None = None
    created_at: datetime


class BranchCreate(Schema):
    name: str
    source: str = Field(default="main", alias="from")


class TagCreate(Schema):
    name: str
    ref: str = "main"


class RefPointer(Schema):
    name: str
    commit: str
    updated_at: datetime


class CommitPublic(Schema):
    id: str
    parent: str | None
    message: str
    author: str
    created_at: datetime
    file_count: int
    total_size: int


class ResolvedPublic(Schema):
    asset: AssetPublic
    commit: CommitPublic
    branch: str | None
    rev: str
    ref: str


class FileEntryModel(Schema):
    path: str
    sha256: str
    size: int = Field(ge=0)


class CommitCreate(Schema):
    branch: str = "main"
    message: str
    add: list[FileEntryModel] = Field(default_factory=list, max_length=200_000)
    delete: list[str] = Field(default_factory=list, max_length=200_000)
    parent: str | None = None


class BlobQuery(Schema):
    hashes: list[str] = Field(max_length=200_000)


class BlobMissing(Schema):
    missing: list[str]


class BlobStored(Schema):
    sha256: str
    size: int


class EvaluationCreate(Schema):
    model: str
    dataset: str
    metrics: dict[str, Any]
    source: str = "api"


class EvaluationPublic(BaseModel):
    """Exactly the keys seed 001 shows, so scripts written against it keep working."""

    model_config = ConfigDict(protected_namespaces=())
    id: str
    modelID: str | None
    modelRef: str | None
    modelCommit: str | None
    modelBranch: str | None
    modelTags: list[str]
    endpoint: str | None = None  # llm evaluations: the endpoint measured
    datasetID: str
    datasetRef: str
    datasetCommit: str
    datasetBranch: str | None
    datasetTags: list[str]
    results: dict[str, Any]
    source: str
    state: str = "Completed"  # a job's evaluation: its version's final state
    stale: str | None = None  # why it no longer describes its branches' heads
    partial: bool = False
    samples: int = 0
    artifacts: list[dict[str, Any]] = Field(default_factory=list)
    creator: str | None
    startTime: str


class Deleted(Schema):
    deleted: str


class VersionSettings(Schema):
    """What a version runs. Unset fields are left out: a new version keeps the latest
    version's value for them, and a new job the defaults of ``services.jobs.VersionSpec``."""

    model: str | None = None
    dataset: str | None = None
    model_path: str | None = None
    data_path: str | None = None
    code: str | None = None
    launch: str | None = None
    endpoint: str | None = None
    runtime: str | None = None
    params: dict[str, Any] = Field(default_factory=dict)
    pool: str | None = None
    timeout: int | None = Field(default=None, ge=1, le=30 * 24 * 3600)
    cpu: float | None = Field(default=None, gt=0, le=100_000, allow_inf_nan=False)
    memory: int | str | None = None
    gpu: int | None = Field(default=None, ge=0, le=10_000)
    priority: int | None = Field(default=None, ge=-1_000_000, le=1_000_000)
    debug: bool | None = None

    def settings(self) -> dict[str, Any]:
        from assay.core.units import parse_size

        out = {
            k: v
            for k, v in self.model_dump(exclude={"name", "description", "type"}).items()
            if v is not None
        }
        if self.memory is not None:
            out["memory"] = parse_size(self.memory)
        return out


class JobCreate(VersionSettings):
    name: str
    description: str = ""
    type: str = "custom"


VersionCreate = VersionSettings


class PoolCreate(Schema):
    name: str
    # None: this machine's CPUs (local), the cluster's (ray)
    cpu: float | None = Field(default=None, gt=0, le=100_000, allow_inf_nan=False)
    memory: int | str = 0
    gpu: int = Field(default=0, ge=0, le=10_000)
    backend: str = "local"
    address: str | None = Field(default=None, max_length=512)  # ray: ray://HOST:PORT


class PoolPublic(Schema):
    name: str
    backend: str
    address: str | None = None
    cpu: float
    memory: int
    gpu: int
    cpu_used: float
    memory_used: int
    gpu_used: int
    running: int
    queued: int


class EndpointCreate(Schema):
    name: str
    base_url: str = Field(max_length=2048)
    model: str = Field(max_length=256)
    api_key: str | None = Field(default=None, max_length=4096)
    max_concurrency: int = Field(default=32, ge=1, le=4096)
    rpm: int | None = Field(default=None, ge=1)
    tpm: int | None = Field(default=None, ge=1)
    price_input: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    price_output: float = Field(default=0.0, ge=0, allow_inf_nan=False)
    batch: bool = False
    model_ref: str | None = Field(default=None, max_length=300)


class EndpointPublic(Schema):
    """An endpoint as every API shows it: never its key."""

    name: str
    base_url: str
    model: str
    has_api_key: bool
    max_concurrency: int
    rpm: int | None
    tpm: int | None
    price_input: float
    price_output: float
    batch: bool
    model_ref: str | None
    model_commit: str | None
    created_at: datetime


class EstimateRequest(Schema):
    dataset: str = Field(max_length=300)
    params: dict[str, Any] = Field(default_factory=dict)


class RescoreRequest(Schema):
    params: dict[str, Any] = Field(default_factory=dict)


class CompareRequest(Schema):
    baseline: str | None = Field(default=None, max_length=300)  # default: the pinned one
    candidates: list[str] = Field(min_length=1, max_length=50)
    metrics: list[str] | None = Field(default=None, max_length=200)
    confidence: float = Field(default=0.95, ge=0.5, lt=1)
    resamples: int = Field(default=2000, ge=100, le=100_000)
    seed: int = Field(default=0, ge=0, le=2**31)


class DiffRequest(Schema):
    baseline: str = Field(max_length=300)
    candidate: str = Field(max_length=300)
    only: str | None = None
    limit: int = Field(default=50, ge=1, le=10_000)


class PinRequest(Schema):
    evaluation: str = Field(max_length=300)
    job: str | None = Field(default=None, max_length=64)
    model: str | None = Field(default=None, max_length=300)


class RuntimeCreate(Schema):
    name: str
    requirements: str = Field(max_length=64 * 1024)
    python: str | None = None
