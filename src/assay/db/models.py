"""Tables. Names follow the product's words: folder, asset, commit, branch, tag, evaluation.

Commit ids are SHA-256 hex strings (see ``services.history``); everything else has a UUID id.
File contents and commit manifests live in storage, addressed by their own SHA-256; the
database keeps only pointers to them.
"""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import DateTime, TypeDecorator


def new_id() -> str:
    return str(uuid.uuid4())


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every dialect (SQLite forgets the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        return value.astimezone(UTC) if value is not None else None

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


class Base(DeclarativeBase):
    pass


class User(Base):
    __tablename__ = "users"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    is_admin: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ApiKey(Base):
    __tablename__ = "api_keys"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Folder(Base):
    __tablename__ = "folders"
    __table_args__ = (UniqueConstraint("owner_id", "type", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    type: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Asset(Base):
    __tablename__ = "assets"
    __table_args__ = (UniqueConstraint("folder_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    folder_id: Mapped[str] = mapped_column(ForeignKey("folders.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64), index=True)
    # A dataset's task format (e.g. "image-classification"): every commit is validated in it.
    format: Mapped[str | None] = mapped_column(String(32))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Blob(Base):
    """A file content known to storage, stored once whoever uploads it."""

    __tablename__ = "blobs"
    sha256: Mapped[str] = mapped_column(String(64), primary_key=True)
    size: Mapped[int] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BlobGrant(Base):
    """Who has proven to hold a blob (by uploading it) and may therefore commit it.

    Without this, knowing a file's SHA-256 would be enough to commit and then download another
    user's file.
    """

    __tablename__ = "blob_grants"
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    sha256: Mapped[str] = mapped_column(ForeignKey("blobs.sha256"), primary_key=True)


class Commit(Base):
    __tablename__ = "commits"
    __table_args__ = (Index("ix_commits_asset_created", "asset_id", "created_at"),)
    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    parent_id: Mapped[str | None] = mapped_column(String(64))
    message: Mapped[str] = mapped_column(String(4096))
    author: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    manifest_sha256: Mapped[str] = mapped_column(String(64))
    file_count: Mapped[int] = mapped_column(default=0)
    total_size: Mapped[int] = mapped_column(BigInteger, default=0)


class Branch(Base):
    __tablename__ = "branches"
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    commit_id: Mapped[str] = mapped_column(ForeignKey("commits.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Tag(Base):
    __tablename__ = "tags"
    asset_id: Mapped[str] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE"), primary_key=True
    )
    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    commit_id: Mapped[str] = mapped_column(ForeignKey("commits.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Evaluation(Base):
    """Metrics bound to one model commit and one dataset commit. An llm evaluation of an
    endpoint that names no model commit is bound to the dataset commit and the endpoint."""

    __tablename__ = "evaluations"
    # Newest-first listing filtered by model or dataset commit walks one index in order.
    __table_args__ = (
        Index("ix_evaluations_created", "created_at"),
        Index("ix_evaluations_model_created", "model_commit_id", "created_at"),
        Index("ix_evaluations_dataset_created", "dataset_commit_id", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    model_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    model_commit_id: Mapped[str | None] = mapped_column(ForeignKey("commits.id"))
    model_rev: Mapped[str | None] = mapped_column(String(80))
    endpoint: Mapped[str | None] = mapped_column(String(64))  # its name when it was measured
    model_branch: Mapped[str | None] = mapped_column(String(64))
    dataset_asset_id: Mapped[str] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    dataset_commit_id: Mapped[str] = mapped_column(ForeignKey("commits.id"))
    dataset_rev: Mapped[str] = mapped_column(String(80))
    dataset_branch: Mapped[str | None] = mapped_column(String(64))
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON)
    source: Mapped[str] = mapped_column(String(90))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # Set when a job version produced it; unique, so a version's results land exactly once.
    version_id: Mapped[str | None] = mapped_column(
        ForeignKey("versions.id", ondelete="CASCADE"), unique=True
    )
    partial: Mapped[bool] = mapped_column(default=False)
    samples_sha256: Mapped[str | None] = mapped_column(String(64))
    sample_count: Mapped[int] = mapped_column(default=0)
    artifacts: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Pool(Base):
    """Capacity that versions queue on. ``backend`` is ``local`` (processes on this machine)
    or ``ray`` (tasks on the Ray cluster at ``address``)."""

    __tablename__ = "pools"
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    backend: Mapped[str] = mapped_column(String(16), default="local")
    address: Mapped[str | None] = mapped_column(String(512))  # e.g. ray://head:10001
    cpu: Mapped[float] = mapped_column()
    memory: Mapped[int] = mapped_column(BigInteger)
    gpu: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Endpoint(Base):
    """An OpenAI-compatible inference endpoint a user evaluates (seed 003's "inference access
    point"). ``api_key`` is kept here for the workers that call it and is never returned by
    any API (responses say only whether one is set)."""

    __tablename__ = "endpoints"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    base_url: Mapped[str] = mapped_column(String(2048))
    model: Mapped[str] = mapped_column(String(256))
    api_key: Mapped[str | None] = mapped_column(String(4096))
    max_concurrency: Mapped[int] = mapped_column(default=32)
    rpm: Mapped[int | None] = mapped_column()
    tpm: Mapped[int | None] = mapped_column()
    price_input: Mapped[float] = mapped_column(default=0.0)  # USD per 1M prompt tokens
    price_output: Mapped[float] = mapped_column(default=0.0)  # USD per 1M completion tokens
    batch: Mapped[bool] = mapped_column(default=False)  # supports the OpenAI Batch API
    model_ref: Mapped[str | None] = mapped_column(String(300))
    model_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id", ondelete="SET NULL"))
    model_commit_id: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Pin(Base):
    """A user's pinned baseline for a job or a model asset: comparisons default to it."""

    __tablename__ = "pins"
    __table_args__ = (UniqueConstraint("owner_id", "scope", "target_id"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    scope: Mapped[str] = mapped_column(String(8))  # "job" | "model"
    target_id: Mapped[str] = mapped_column(String(36))  # the job's or model asset's id
    evaluation_id: Mapped[str] = mapped_column(ForeignKey("evaluations.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Job(Base):
    __tablename__ = "jobs"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    description: Mapped[str] = mapped_column(String(4096), default="")
    type: Mapped[str] = mapped_column(String(32))
    next_number: Mapped[int] = mapped_column(default=1)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Version(Base):
    """One run of a job, with every ref resolved to a commit when it was created."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("job_id", "number"),
        Index("ix_versions_state_pool", "state", "pool_id"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    job_id: Mapped[str] = mapped_column(ForeignKey("jobs.id", ondelete="CASCADE"), index=True)
    number: Mapped[int] = mapped_column()
    state: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(String(8192), default="")
    # Each input: the ref as the user gave it, and what it resolved to at creation.
    # A model or dataset is a registered ref or a storage location (path + content hash).
    model_ref: Mapped[str | None] = mapped_column(String(300))
    model_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    model_commit_id: Mapped[str | None] = mapped_column(String(64))
    model_rev: Mapped[str | None] = mapped_column(String(80))
    model_branch: Mapped[str | None] = mapped_column(String(64))
    model_path: Mapped[str | None] = mapped_column(String(4096))
    model_path_sha256: Mapped[str | None] = mapped_column(String(64))
    dataset_ref: Mapped[str | None] = mapped_column(String(300))
    dataset_asset_id: Mapped[str | None] = mapped_column(
        ForeignKey("assets.id", ondelete="CASCADE")
    )
    dataset_commit_id: Mapped[str | None] = mapped_column(String(64))
    dataset_rev: Mapped[str | None] = mapped_column(String(80))
    dataset_branch: Mapped[str | None] = mapped_column(String(64))
    data_path: Mapped[str | None] = mapped_column(String(4096))
    data_path_sha256: Mapped[str | None] = mapped_column(String(64))
    code_ref: Mapped[str | None] = mapped_column(String(300))
    code_asset_id: Mapped[str | None] = mapped_column(ForeignKey("assets.id", ondelete="CASCADE"))
    code_commit_id: Mapped[str | None] = mapped_column(String(64))
    code_branch: Mapped[str | None] = mapped_column(String(64))  # for staleness
    launch: Mapped[str | None] = mapped_column(String(1024))
    # An llm job's endpoint, by id: deleting the endpoint leaves the version's record intact.
    endpoint_id: Mapped[str | None] = mapped_column(String(36))
    endpoint_name: Mapped[str | None] = mapped_column(String(64))
    estimate: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # llm: tokens and cost
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    pool_id: Mapped[str] = mapped_column(ForeignKey("pools.id"))
    # The exact runtime version the tasks run in (None: Assay's own environment).
    runtime_version_id: Mapped[str | None] = mapped_column(ForeignKey("runtime_versions.id"))
    cpu: Mapped[float] = mapped_column(default=1.0)
    memory: Mapped[int] = mapped_column(BigInteger, default=0)
    gpu: Mapped[int] = mapped_column(default=0)
    priority: Mapped[int] = mapped_column(default=0)
    timeout: Mapped[int] = mapped_column(default=3600)
    debug: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    queued_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    metrics: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    partial: Mapped[bool] = mapped_column(default=False)
    cpu_seconds: Mapped[float] = mapped_column(default=0.0)
    gpu_seconds: Mapped[float] = mapped_column(default=0.0)
    peak_memory: Mapped[int] = mapped_column(BigInteger, default=0)
    workdir: Mapped[str | None] = mapped_column(String(1024))


class Task(Base):
    """A part of a version's work, run by one worker process per attempt. Each running task
    holds its version's resource request on the pool."""

    __tablename__ = "tasks"
    __table_args__ = (
        UniqueConstraint("version_id", "index"),
        # Each scheduler tick asks for queued and running tasks of every version ever run.
        Index("ix_tasks_state", "state"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    version_id: Mapped[str] = mapped_column(ForeignKey("versions.id", ondelete="CASCADE"))
    index: Mapped[int] = mapped_column(default=0)
    # "run": a custom script; "shard": a slice of a built-in evaluation; "merge": the step
    # that combines the shards' outputs, created waiting (Creating) until they are done.
    kind: Mapped[str] = mapped_column(String(16), default="run")
    state: Mapped[str] = mapped_column(String(16))
    # A finished shard's output files, kept in storage for the merge: [[path, sha256, size]]
    outputs: Mapped[list[list[Any]] | None] = mapped_column(JSON)
    attempts: Mapped[int] = mapped_column(default=0)
    max_attempts: Mapped[int] = mapped_column(default=3)
    scheduler_id: Mapped[str | None] = mapped_column(String(36))
    pid: Mapped[int | None] = mapped_column()
    host: Mapped[str | None] = mapped_column(String(255))
    # The backend's own id of the started worker when a pid does not name it (a Ray task).
    handle: Mapped[str | None] = mapped_column(String(512))
    exit_code: Mapped[int | None] = mapped_column()
    message: Mapped[str] = mapped_column(String(8192), default="")
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class SchedulerLease(Base):
    """A running scheduler's heartbeat: tasks of a scheduler that stopped beating are lost."""

    __tablename__ = "schedulers"
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    host: Mapped[str] = mapped_column(String(255))
    pid: Mapped[int] = mapped_column()
    heartbeat_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UserSetting(Base):
    """A user's console setting (column layout, ...): one small JSON document per key."""

    __tablename__ = "user_settings"
    __table_args__ = (UniqueConstraint("user_id", "key"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(64))
    value: Mapped[Any] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Runtime(Base):
    """A named environment jobs run in (seed 000's "AI engine", seed 004's "runtime"): a
    sequence of immutable versions, each a requirements file and a Python version."""

    __tablename__ = "runtimes"
    __table_args__ = (UniqueConstraint("owner_id", "name"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    owner_id: Mapped[str] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RuntimeVersion(Base):
    __tablename__ = "runtime_versions"
    __table_args__ = (UniqueConstraint("runtime_id", "number"),)
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    runtime_id: Mapped[str] = mapped_column(ForeignKey("runtimes.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column()
    python: Mapped[str | None] = mapped_column(String(16))  # e.g. "3.11"; None: the server's
    requirements: Mapped[str] = mapped_column(Text)
    # Hash of (python, requirements): the key of the cached environment built from it.
    key: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class IdempotencyKey(Base):
    """A create request sent with an ``Idempotency-Key`` header, and the response it got: a
    repeat of the key by the same user gets that response again instead of a second record.
    ``status`` is None while the first request is still being served."""

    __tablename__ = "idempotency_keys"
    __table_args__ = (
        UniqueConstraint("user_id", "key", name="uq_idempotency_keys_user_id_key"),
        Index("ix_idempotency_keys_created_at", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    user_id: Mapped[str] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE", name="fk_idempotency_keys_user_id")
    )
    key: Mapped[str] = mapped_column(String(255))
    # SHA-256 of method, path, query and body: the same key with another request is refused.
    fingerprint: Mapped[str] = mapped_column(String(64))
    method: Mapped[str] = mapped_column(String(8))
    path: Mapped[str] = mapped_column(String(2048))
    status: Mapped[int | None] = mapped_column()
    content_type: Mapped[str | None] = mapped_column(String(255))
    body: Mapped[bytes | None] = mapped_column(LargeBinary)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
