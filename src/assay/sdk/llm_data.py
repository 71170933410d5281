"""LLM datasets made on the client: preset sets committed as ``presets/NAME``, and imports of
MMLU / GSM8K files, each committed as ``data.jsonl`` + ``assay-llm.json``."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

from assay import errors
from assay.core.refs import parse_ref
from assay.formats.llm import DEFAULTS
from assay.sdk.client import Client
from assay.sdk.objects import Folder

PRESET_PREFIX = "preset:"


def commit_jsonl(
    client: Client, ref: str, text: str, defaults: dict[str, Any], message: str
) -> str:
    """Commit ``data.jsonl`` (+ defaults) to dataset ``FOLDER/NAME``, creating the folder and
    the asset when missing; an identical head is left as it is. Returns the ref."""
    parsed = parse_ref(ref, type_hint="dataset")
    if parsed.owner is not None:
        raise errors.InvalidInput(f"import into your own folder, not {parsed.owner}'s")
    found = [f for f in client.get("/folders", type="dataset") if f["name"] == parsed.folder]
    folder = Folder(
        client,
        found[0] if found else client.post("/folders", {"type": "dataset", "name": parsed.folder}),
    )
    try:
        asset = folder.get_asset(parsed.asset)
    except errors.NotFound:
        asset = folder.create_asset(parsed.asset)
    with tempfile.TemporaryDirectory(prefix="assay-import-") as tmp:
        data, meta = Path(tmp) / "data.jsonl", Path(tmp) / DEFAULTS
        data.write_text(text, encoding="utf-8")
        meta.write_text(json.dumps(defaults))
        try:
            asset.create_commit(message=message, add=[str(data), str(meta)])
        except errors.InvalidInput as exc:
            if "identical to the branch head" not in exc.message:
                raise
    return f"{parsed.folder}/{parsed.asset}"


def preset_dataset(client: Client, ref: str) -> str:
    """``preset:NAME`` -> the ref of the caller's committed copy, ``presets/NAME``."""
    from assay import presets

    preset = presets.get(ref[len(PRESET_PREFIX) :])
    return commit_jsonl(
        client,
        f"presets/{preset.name}",
        preset.path.read_text(encoding="utf-8"),
        {"scoring": preset.scoring},
        f"preset {preset.name}",
    )
