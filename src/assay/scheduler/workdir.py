"""The work root that tasks' directories live under."""

from __future__ import annotations

import os
import stat
from pathlib import Path

from assay.core.errors import InvalidInput


def private_root(root: Path) -> None:
    """The work root is a predictable name in a shared temporary directory: make sure it is a
    real directory of ours that nobody else can enter, not something planted there."""
    root.mkdir(mode=0o700, parents=True, exist_ok=True)
    info = os.lstat(root)
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise InvalidInput(
            f"work directory {root} is not a directory owned by this user; set "
            "ASSAY_WORK_DIR to a private directory"
        )
    if info.st_mode & 0o077:
        os.chmod(root, 0o700)
