"""``python -m assay.evaluators.runner``: one stage of a built-in evaluation, inside a task's
limited child process. Errors print the reason (and the sample) to the log and exit 1."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import replace
from pathlib import Path

from assay.core.errors import AssayError
from assay.evaluators.registry import Stage, get


def main() -> None:
    p = argparse.ArgumentParser()
    for flag in ("evaluator", "stage", "params", "shards_dir", "model_url", "data_url"):
        p.add_argument(f"--{flag}", required=True)
    p.add_argument("--shard", type=int, default=0)
    p.add_argument("--shards", type=int, default=1)
    a = p.parse_args()
    shards_dir = Path(a.shards_dir)
    stage = Stage(
        model_dir=Path(a.model_url),
        data_dir=Path(a.data_url),
        output_dir=Path(os.environ["ASSAY_OUTPUT_DIR"]),
        params=json.loads(Path(a.params).read_text()),
        shard=a.shard,
        shards=a.shards,
        shard_dirs=sorted(
            (d for d in shards_dir.iterdir() if d.is_dir()), key=lambda d: int(d.name)
        )
        if shards_dir.is_dir()
        else [],
    )
    evaluator = get(a.evaluator)
    try:
        if a.stage == "merge":
            evaluator.merge(stage)
        elif a.stage == "shard":
            evaluator.run_shard(stage)
        else:  # "run": the only shard, merged in the same process
            scored = stage.output_dir.parent / "shard-0"
            scored.mkdir(exist_ok=True)
            evaluator.run_shard(replace(stage, output_dir=scored))
            evaluator.merge(replace(stage, shard_dirs=[scored]))
    except AssayError as exc:
        print(f"[assay] {a.evaluator} {a.stage} failed: {exc.message}", flush=True)
        sys.exit(1)


if __name__ == "__main__":
    main()
    # Every output file is closed by now; skip the interpreter's teardown of onnxruntime,
    # pyarrow and the arrays still alive (0.1 s and more, on the version's critical path).
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)
