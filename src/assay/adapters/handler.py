"""Python handlers (Starwhale's "handler"): ``package.module:Class`` in the model commit.

The contract, checked when the handler loads::

    class Classifier:
        def __init__(self, model_dir: str) -> None: ...
        def predict(self, batch: list[PIL.Image.Image]) -> list[str] | array (batch x classes)

A list of class names gives labels only; a 2-D array gives scores in the model's label order.
The handler runs inside the task's limited child process, never in the server.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from pathlib import Path
from typing import Any

from assay.core.errors import InvalidInput


def load(model_dir: Path, target: str) -> Any:
    module_name, sep, class_name = target.partition(":")
    if not sep or not module_name or not class_name.isidentifier():
        raise InvalidInput(f"handler {target!r} is not package.module:Class")
    sys.path.insert(0, str(model_dir))
    try:
        module = importlib.import_module(module_name)
    except Exception as exc:
        raise InvalidInput(f"cannot import handler module {module_name!r}: {exc!r}") from None
    cls = getattr(module, class_name, None)
    if not inspect.isclass(cls) or not callable(getattr(cls, "predict", None)):
        raise InvalidInput(f"{target} is not a class with a predict(batch) method")
    try:
        return cls(str(model_dir))  # type: ignore[call-arg]
    except Exception as exc:
        raise InvalidInput(f"{target}(model_dir) raised {exc!r}") from None
