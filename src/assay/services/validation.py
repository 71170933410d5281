"""Validating a dataset commit in its task format before it is recorded.

The format's loader (``assay.formats``) reads the new commit through an index of its blobs,
so nothing is copied and no image is decoded: names, annotation files and references are
checked here; pixels are checked again when a job reads them.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from assay.core.errors import InvalidInput
from assay.evaluators.registry import BUILTIN
from assay.storage.blobs import BlobStore


def check_format(type_: str, format_: str) -> None:
    if type_ != "dataset":
        raise InvalidInput("only a dataset has a format (--format)")
    if format_ not in BUILTIN:
        raise InvalidInput(f"unknown dataset format {format_!r}: one of {', '.join(BUILTIN)}")


def _loader(format_: str) -> Callable[[Path], Any]:
    from assay.formats import Files, classification, coco, llm, segmentation

    loaders: dict[str, Callable[[Path], Any]] = {
        "image-classification": classification.load,
        "object-detection": coco.load,
        "semantic-segmentation": segmentation.load,
        "llm": lambda root: llm.load(Files(root)),
    }
    return loaders[format_]


def validate(store: BlobStore, format_: str, files: dict[str, str]) -> None:
    """Raise InvalidInput (naming file and line or field) unless ``files`` (path -> sha256)
    form a valid dataset of ``format_``."""
    from assay.formats import INDEX

    places = {path: store.local_path(sha) for path, sha in files.items()}
    if any(p is None for p in places.values()):
        return  # remote storage: validated when a job reads it
    with tempfile.TemporaryDirectory(prefix="assay-validate-") as tmp:
        (Path(tmp) / INDEX).write_text(json.dumps(places))
        try:
            _loader(format_)(Path(tmp))
        except InvalidInput as exc:
            raise InvalidInput(f"not a valid {format_} dataset: {exc.message}") from None
