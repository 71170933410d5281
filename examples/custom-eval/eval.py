"""A complete custom evaluation script for Assay (see docs/custom-evaluation.md).

The model commit holds ``weights.json`` (a linear classifier: one weight row per class); the
dataset commit holds ``test.csv`` with columns ``label,x0,x1,...``. The script scores every
row, reports accuracy and per-class recall, one per-sample row each, and a confusion matrix
as an artifact.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
from pathlib import Path

from assay import report


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model_url", required=True)  # directory with the model's files
    parser.add_argument("--data_url", required=True)  # directory with the dataset's files
    parser.add_argument("--batch_size", type=int, default=64)  # a user parameter
    args, _unknown = parser.parse_known_args()

    weights = json.loads((Path(args.model_url) / "weights.json").read_text())["w"]
    classes = list(range(len(weights)))
    rows = list(csv.DictReader(open(Path(args.data_url) / "test.csv")))  # noqa: SIM115
    print(f"scoring {len(rows)} rows in batches of {args.batch_size}", flush=True)

    confusion = [[0 for _ in classes] for _ in classes]
    samples = []
    for i, row in enumerate(rows):
        x = [float(row[f"x{j}"]) for j in range(len(weights[0]))]
        scores = [sum(w * v for w, v in zip(ws, x, strict=True)) for ws in weights]
        predicted = max(classes, key=lambda c: scores[c])
        label = int(row["label"])
        confusion[label][predicted] += 1
        samples.append(
            {"id": i, "label": label, "prediction": predicted, "correct": predicted == label}
        )

    correct = sum(s["correct"] for s in samples)
    recall = {str(c): confusion[c][c] / max(1, sum(confusion[c])) for c in classes}
    report.metrics({"accuracy": correct / len(samples), "recall": recall})
    report.samples(samples)
    out = Path(os.environ.get("TMPDIR", "/tmp")) / "confusion.json"
    out.write_text(json.dumps(confusion))
    report.artifact(out)
    print(f"accuracy {correct / len(samples):.3f}", flush=True)


if __name__ == "__main__":
    main()
