"""What a name and a file path inside an asset may look like.

Names (folders, assets, branches, tags, users) are 1-64 characters of ASCII letters, digits,
``.``, ``_`` and ``-``, starting with a letter or digit. Paths inside a commit are relative
POSIX paths whose components are not empty, ``.`` or ``..``, with no backslash, NUL or control
character, at most 255 bytes a component and 1024 bytes in all.
"""

from __future__ import annotations

import re
import unicodedata

from assay.core.errors import InvalidInput

NAME_RULE = "1-64 characters: letters, digits, '.', '_' or '-', starting with a letter or digit"
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ASSET_TYPES = ("model", "dataset", "code")
TYPE_TITLES = {"model": "Model", "dataset": "Dataset", "code": "Code"}


def check_name(value: str, what: str) -> str:
    if not isinstance(value, str) or not _NAME.match(value):
        raise InvalidInput(f"invalid {what} name {value!r}: use {NAME_RULE}")
    return value


def check_type(value: str) -> str:
    if value not in ASSET_TYPES:
        raise InvalidInput(f"unknown asset type {value!r}: choose one of {', '.join(ASSET_TYPES)}")
    return value


def check_path(value: str) -> str:
    """Return ``value`` if it is a safe path inside an asset, else raise InvalidInput."""
    if not isinstance(value, str) or not value:
        raise InvalidInput("empty file path")
    shown = value.encode("unicode_escape").decode()
    if any(unicodedata.category(ch) == "Cc" for ch in value):
        raise InvalidInput(f"file path {shown!r} contains a control character or NUL")
    if "\\" in value:
        raise InvalidInput(f"file path {shown!r} contains a backslash: use '/' between parts")
    if value.startswith("/") or re.match(r"^[A-Za-z]:", value):
        raise InvalidInput(f"file path {shown!r} is absolute: give a path relative to the asset")
    if len(value.encode()) > 1024:
        raise InvalidInput(f"file path {shown[:60]!r}... is longer than 1024 bytes")
    for part in value.split("/"):
        if part in ("", ".", ".."):
            raise InvalidInput(
                f"file path {shown!r} has an empty, '.' or '..' part: paths may not leave the asset"
            )
        if len(part.encode()) > 255:
            raise InvalidInput(f"file path {shown[:60]!r}... has a part longer than 255 bytes")
    return value
