"""Dataset formats of the built-in evaluators, validated with errors naming file and line."""

from pathlib import Path


def dataset_file(root: Path, relative: str) -> Path | None:
    """``root/relative`` if it names a file inside the dataset, else None.

    The check is lexical: inputs may be links into the blob store, so resolving them would
    leave the dataset's directory by design; ``..`` and absolute paths are what it refuses.
    """
    if not relative or relative.startswith("/") or "\x00" in relative:
        return None
    parts = Path(relative).parts
    if ".." in parts:
        return None
    path = root / relative
    return path if path.is_file() else None
