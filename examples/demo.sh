#!/usr/bin/env bash
# Seed 001's tutorial, for real, on a fresh embedded instance in .demo-home: folders, a model
# with a branch and a committed file, a dataset, an evaluation bound to both commits; list,
# show and delete it.
set -euo pipefail
cd "$(dirname "$0")/.."
export ASSAY_HOME="$PWD/.demo-home"
rm -rf "$ASSAY_HOME"
unset ASSAY_HOST ASSAY_API_KEY
ASSAY_BIN="$PWD/.venv/bin/assay"
assay() { echo "\$ assay $*" >&2; "$ASSAY_BIN" "$@"; }

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# A "trained model" file and a small dataset to commit.
.venv/bin/python - "$work" <<'PY'
import json, random, sys, pathlib
root = pathlib.Path(sys.argv[1])
rng = random.Random(0)
(root / "model").mkdir()
(root / "model" / "weights.json").write_text(json.dumps({"w": [rng.gauss(0, 1) for _ in range(64)]}))
(root / "data").mkdir()
for split in ("train", "test"):
    rows = [f"{i},{rng.randrange(10)}" for i in range(100)]
    (root / "data" / f"{split}.csv").write_text("id,label\n" + "\n".join(rows) + "\n")
PY

assay create folder model/image-classification
assay create model image-classification/mnist-cnn-keras
assay create branch image-classification/mnist-cnn-keras:v1
(cd "$work" && assay commit image-classification/mnist-cnn-keras:v1 -m "trained weights" -a model)
assay ls file image-classification/mnist-cnn-keras:v1

assay create folder dataset/image-classification
assay create dataset image-classification/mnist
(cd "$work/data" && assay commit image-classification/mnist -m "mnist csv" -a .)

assay create evaluation image-classification/mnist-cnn-keras:branch/v1 \
    -d image-classification/mnist -m loss=1.47 -m accuracy=0.99 > "$work/id"
id=$(cat "$work/id")
commit=$(.venv/bin/assay ls commit image-classification/mnist-cnn-keras:v1 -o json |
         .venv/bin/python -c 'import json,sys; print(json.load(sys.stdin)[0]["id"][:8])')
assay ls evaluation "image-classification/mnist-cnn-keras:$commit"
assay get evaluation "$id" --output json
assay delete evaluation "$id"
assay ls evaluation
echo "Demo finished: the instance is in $ASSAY_HOME (assay commands there need ASSAY_HOME=$ASSAY_HOME)." >&2
