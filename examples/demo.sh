#!/usr/bin/env bash
# The demo, for real, on a fresh embedded instance in .demo-home:
#   1. seed 001's tutorial: folders, a model with a branch and a committed file, a dataset,
#      an evaluation bound to both commits; list, show and delete it;
#   2. a custom evaluation job: the documented script (examples/custom-eval/eval.py) scores
#      the committed model on the committed dataset;
#   3. the built-in image-classification evaluator: a classifier trained on scikit-learn's
#      bundled digits, exported to ONNX, evaluated on the digits test split (PNG class
#      folders) in two parallel shards; metrics, confusion matrix, per-sample rows, pictures.
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
echo "== 3. Built-in image classification: an ONNX digits classifier" >&2
.venv/bin/python examples/digits/prepare.py "$work/digits-model" "$work/digits-data"
assay create folder model/digits
assay create model digits/logreg
(cd "$work/digits-model" && assay commit digits/logreg -m "logistic regression, ONNX" -a .)
assay create folder dataset/digits
assay create dataset digits/test
(cd "$work/digits-data" && assay commit digits/test -m "digits test split, PNG" -a . > /dev/null)
assay create job digits-eval --type image-classification --model digits/logreg \
    --dataset digits/test --param batch_size=256 --param shards=2 --wait -o json > "$work/v.json"
.venv/bin/python - "$work/v.json" <<'PY'
import json, sys
v = json.load(open(sys.argv[1]))
m = v["metrics"]
print(f"\n{v['job']}:{v['name']} {v['state']} on {sum(sum(r) for r in m['confusion_matrix'])} images")
for key in ("accuracy", "top5_accuracy", "precision_macro", "recall_macro", "f1_macro",
            "f1_weighted", "log_loss", "roc_auc_macro"):
    print(f"  {key:<18}{m[key]:.4f}")
print("confusion matrix (rows: true digit, columns: predicted):")
print("      " + " ".join(f"{c:>4}" for c in range(10)))
for i, row in enumerate(m["confusion_matrix"]):
    print(f"  {i:>2}  " + " ".join(f"{x:>4}" for x in row))
PY
eval_id=$(.venv/bin/python -c 'import json,sys; print(json.load(open(sys.argv[1]))["evaluationId"])' "$work/v.json")
assay samples "$eval_id" --where "correct = false" --order-by "confidence DESC" --limit 5
mkdir -p "$ASSAY_HOME/artifacts"
assay download-artifact "$eval_id" confusion_matrix.png -o "$ASSAY_HOME/artifacts/confusion_matrix.png"
assay download-artifact "$eval_id" per_class_f1.png -o "$ASSAY_HOME/artifacts/per_class_f1.png"
assay download-artifact "$eval_id" worst_samples.png -o "$ASSAY_HOME/artifacts/worst_samples.png"
echo "Artifacts: $ASSAY_HOME/artifacts/ (confusion_matrix.png, per_class_f1.png, worst_samples.png)" >&2
echo "Demo finished: the instance is in $ASSAY_HOME (use ASSAY_HOME=$ASSAY_HOME assay ...)." >&2
