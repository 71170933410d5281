"""How predictions are produced: ONNX models, Python handlers, predictions files."""
