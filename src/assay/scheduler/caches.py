"""What a task may keep between evaluations: the environment telling a built-in evaluator
where decoded pixels of its (immutable) dataset are cached (adapters/decoded.py)."""

from __future__ import annotations

from assay.core.config import Settings
from assay.db.models import Version


def decode_env(settings: Settings, job_type: str, version: Version) -> dict[str, str]:
    dataset = version.dataset_commit_id or version.data_path_sha256
    if job_type != "image-classification" or not dataset or settings.decode_cache_bytes <= 0:
        return {}
    return {
        "ASSAY_DECODE_CACHE": str(settings.home / "cache" / "decoded"),
        "ASSAY_DECODE_CACHE_BYTES": str(settings.decode_cache_bytes),
        "ASSAY_DATASET_KEY": dataset,
    }
