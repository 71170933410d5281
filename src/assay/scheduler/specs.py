"""What a task's worker is told: the task spec (inputs as the commits' manifests, launch
file, parameters, limits, the environment its script gets), and its working directory."""

from __future__ import annotations

import math
import os
import shutil
from pathlib import Path

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from assay.core.errors import InvalidInput
from assay.db.models import Commit, Job, Task, Version
from assay.scheduler import llm
from assay.scheduler.caches import decode_env
from assay.scheduler.workdir import private_root
from assay.services import history, runtimes
from assay.services.context import Instance
from assay.worker.spec import STORAGE_VARIABLES, TaskSpec


def task_spec(
    instance: Instance, s: Session, job: Job, version: Version, task: Task, workdir: Path
) -> TaskSpec:
    """The spec of ``task``'s next attempt, its working directory made afresh (0700)."""
    store = instance.store

    def entries(commit_id: str | None) -> list[list[object]]:
        if commit_id is None:
            return []
        commit = s.get(Commit, commit_id)
        if commit is None:
            raise InvalidInput(f"commit {commit_id[:8]} no longer exists")
        files = history.load_manifest(store, commit.manifest_sha256)
        return [[e.path, e.sha256, e.size] for e in files.values()]

    private_root(instance.settings.resolved_work_dir)
    shutil.rmtree(workdir, ignore_errors=True)
    workdir.mkdir(parents=True)
    os.chmod(workdir, 0o700)
    if task.kind == "merge":
        # The merge reads what the shards kept, and the dataset only to draw a few of its
        # worst samples (an index of the commit's blobs: nothing is copied).
        shards = s.scalars(
            select(Task)
            .where(Task.version_id == version.id, Task.kind == "shard")
            .order_by(Task.index)
        ).all()
        inputs = {f"shards/{t.index}": list(t.outputs or []) for t in shards}
        inputs["data"] = entries(version.dataset_commit_id)
        places = {"data": version.data_path} if version.data_path else {}
    else:
        inputs = {
            "code": entries(version.code_commit_id),
            "model": entries(version.model_commit_id),
            "data": entries(version.dataset_commit_id),
        }
        places = {
            name: path
            for name, path in (("model", version.model_path), ("data", version.data_path))
            if path is not None
        }
        source = (version.params or {}).get("rescore_of")
        if version.endpoint_id and source:
            inputs["replies"] = llm.stored_replies(s, version, str(source))
    shard_count = s.scalar(
        select(func.count())
        .select_from(Task)
        .where(Task.version_id == version.id, Task.kind == "shard")
    )
    threads = max(1, math.ceil(version.cpu))
    storage_url = instance.settings.resolved_storage_url
    runtime = (
        runtimes.spec_of(s, version.runtime_version_id) if version.runtime_version_id else None
    )
    return TaskSpec(
        runtime=runtime,
        runtime_cache=str(instance.settings.home / "runtimes"),
        storage_url=storage_url,
        storage_env=(
            {k: os.environ[k] for k in STORAGE_VARIABLES if k in os.environ}
            if "://" in storage_url and not storage_url.startswith("file://")
            else {}
        ),
        workdir=str(workdir),
        launch=version.launch or "",
        params=dict(version.params),
        inputs=inputs,
        locations=places,
        storage_roots=instance.settings.storage_root_list,
        embedded=instance.local_user is not None,
        memory=version.memory,
        cpus=version.cpu,
        gpus=version.gpu,
        cpu_seconds=int(version.timeout * max(version.cpu, 1)) + 10,
        evaluator=None if job.type == "custom" else job.type,
        link_inputs=job.type != "custom",
        stage=task.kind,
        shard=task.index if task.kind == "shard" else 0,
        shards=int(shard_count or 1),
        env={
            "ASSAY_JOB": job.name,
            "ASSAY_VERSION": f"V{version.number:04d}",
            "ASSAY_ATTEMPT": str(task.attempts),
            "ASSAY_TASK_INDEX": str(task.index),
            # Thread pools (onnxruntime, BLAS, OpenMP) sized to the task's CPU request, so
            # parallel shards do not oversubscribe the machine.
            "ASSAY_CPUS": str(threads),
            "OMP_NUM_THREADS": str(threads),
            **(llm.task_env(s, job, version, instance) if task.kind != "merge" else {}),
            **decode_env(instance.settings, job.type, version),
        },
    )
