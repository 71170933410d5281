#!/usr/bin/env bash
# The demo, for real, on a fresh embedded instance in .demo-home:
#   1. seed 001's tutorial: folders, a model with a branch and a committed file, a dataset,
#      an evaluation bound to both commits; list, show and delete it;
#   2. a real evaluation job: the documented custom script (examples/custom-eval/eval.py)
#      scores the committed model on the committed dataset, and its metrics become an
#      evaluation of that model commit.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASSAY_HOME="$PWD/.demo-home"
rm -rf "$ASSAY_HOME"
unset ASSAY_HOST ASSAY_API_KEY
ASSAY_BIN="$PWD/.venv/bin/assay"
assay() { echo "\$ assay $*" >&2; "$ASSAY_BIN" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A linear classifier (one weight row per class) and a test set drawn around its classes.
.venv/bin/python - "$work" <<'PY'
import csv, json, random, sys, pathlib
root = pathlib.Path(sys.argv[1])
rng = random.Random(0)
means = [[rng.gauss(0, 1) for _ in range(8)] for _ in range(4)]
(root / "model").mkdir()
(root / "model" / "weights.json").write_text(json.dumps({"w": means}))
(root / "data").mkdir()
with open(root / "data" / "test.csv", "w", newline="") as f:
    out = csv.writer(f)
    out.writerow(["label"] + [f"x{j}" for j in range(8)])
    for _ in range(400):
        c = rng.randrange(4)
        out.writerow([c] + [round(m + rng.gauss(0, 0.8), 4) for m in means[c]])
PY
cp examples/custom-eval/eval.py "$work/eval.py"

echo "== 1. Seed 001: an evaluation bound to a model commit and a dataset commit" >&2
assay create folder model/image-classification
assay create model image-classification/mnist-cnn-keras
assay create branch image-classification/mnist-cnn-keras:v1
(cd "$work/model" && assay commit image-classification/mnist-cnn-keras:v1 -m "trained weights" -a .)
assay ls file image-classification/mnist-cnn-keras:v1
assay create folder dataset/image-classification
assay create dataset image-classification/mnist
(cd "$work/data" && assay commit image-classification/mnist -m "test split" -a .)
assay create evaluation image-classification/mnist-cnn-keras:branch/v1 \
    -d image-classification/mnist -m loss=1.47 -m accuracy=0.99 > "$work/id"
id=$(cat "$work/id")
commit=$("$ASSAY_BIN" ls commit image-classification/mnist-cnn-keras:v1 -o json |
         .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:8])')
assay ls evaluation "image-classification/mnist-cnn-keras:$commit"
assay get evaluation "$id" --output json
assay delete evaluation "$id"

echo "== 2. A real evaluation job running the team's own script" >&2
assay create folder code/eval-scripts
assay create code eval-scripts/linear
(cd "$work" && assay commit eval-scripts/linear -m "evaluation script" -a eval.py)
assay create job demo-eval --description "accuracy of the v1 weights" --type custom \
    --model image-classification/mnist-cnn-keras:v1 --dataset image-classification/mnist \
    --code eval-scripts/linear:main --launch eval.py --param batch_size=64 --wait
assay logs demo-eval:V0001
assay ls evaluation image-classification/mnist-cnn-keras:v1
echo "Demo finished: the instance is in $ASSAY_HOME (use ASSAY_HOME=$ASSAY_HOME assay ...)." >&2
