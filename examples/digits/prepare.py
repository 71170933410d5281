"""Make the demo's model and dataset from scikit-learn's bundled digits (no download).

Writes ``MODEL_DIR`` (``model.onnx`` + ``assay.yaml``: a logistic regression exported with
skl2onnx, taking 1x8x8 grey images) and ``DATA_DIR`` (the test split as PNG class folders
``0/…png`` … ``9/…png`` with ``labels.txt``). Pixels are stored as value x 15 (0..240) and the
manifest scales them back by 1/15, so the model sees exactly the numbers it was trained on.

    python examples/digits/prepare.py MODEL_DIR DATA_DIR
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np
from PIL import Image

MANIFEST = """\
task: image-classification
format: onnx
labels: ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"]
onnx:
  file: model.onnx
  input: image
  layout: NCHW
  size: [8, 8]
  color: gray
  scale: 0.06666666666666667
  mean: [0.0]
  std: [1.0]
  output: probabilities
  output_name: probabilities
"""


def prepare(model_dir: Path, data_dir: Path, test_size: float = 0.5) -> None:
    import onnx
    from onnx import TensorProto, helper
    from skl2onnx import to_onnx
    from sklearn.datasets import load_digits
    from sklearn.linear_model import LogisticRegression
    from sklearn.model_selection import train_test_split

    digits = load_digits()
    x = digits.images.reshape(len(digits.images), -1)
    x_train, x_test, y_train, y_test = train_test_split(
        x, digits.target, test_size=test_size, random_state=0, stratify=digits.target
    )
    clf = LogisticRegression(max_iter=2000).fit(x_train, y_train)

    model = to_onnx(
        clf, x_train[:1].astype(np.float32), options={id(clf): {"zipmap": False}}, target_opset=17
    )
    graph = model.graph
    flat = graph.input[0].name  # the exported model takes (N, 64): reshape images first
    graph.initializer.append(helper.make_tensor("flat_shape", TensorProto.INT64, [2], [-1, 64]))
    graph.node.insert(0, helper.make_node("Reshape", ["image", "flat_shape"], [flat]))
    del graph.input[:]
    graph.input.append(helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 1, 8, 8]))
    model_dir.mkdir(parents=True, exist_ok=True)
    onnx.save(model, str(model_dir / "model.onnx"))
    (model_dir / "assay.yaml").write_text(MANIFEST)

    data_dir.mkdir(parents=True, exist_ok=True)
    (data_dir / "labels.txt").write_text("".join(f"{i}\n" for i in range(10)))
    for i, (pixels, label) in enumerate(zip(x_test, y_test, strict=True)):
        folder = data_dir / str(label)
        folder.mkdir(exist_ok=True)
        image = (pixels.reshape(8, 8) * 15).astype(np.uint8)
        Image.fromarray(image).save(folder / f"digit-{i:04d}.png")


if __name__ == "__main__":
    prepare(Path(sys.argv[1]), Path(sys.argv[2]))
