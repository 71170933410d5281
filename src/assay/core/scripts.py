"""The environment a user's script (or a debug shell) gets: nothing of the server's."""

from __future__ import annotations

import os
from pathlib import Path


def script_env(workdir: Path, extra: dict[str, str]) -> dict[str, str]:
    """PATH, HOME (the working directory), a UTF-8 locale, unbuffered output, the output
    directory and the job's own ``ASSAY_*`` names; never a key, URL or other secret."""
    return {
        "PATH": os.environ.get("PATH", os.defpath),
        "HOME": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONUNBUFFERED": "1",
        "ASSAY_OUTPUT_DIR": str(workdir / "output"),
        **extra,
    }
