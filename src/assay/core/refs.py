"""Parsing of refs: ``[[OWNER/]TYPE/]FOLDER/ASSET[:REV]``.

REV is ``branch/NAME``, ``tag/NAME``, a commit prefix of at least 4 hex characters, a bare
branch name, or nothing (meaning the branch ``main``). A bare word that is both a branch name
and a hex prefix means the branch, as in git. Parsing is pure; resolving a ref to a commit needs
the database and lives in ``services.hub``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from assay.core.errors import InvalidInput
from assay.core.names import ASSET_TYPES, check_name

RevKind = Literal["branch", "tag", "bare"]
_HEX = re.compile(r"^[0-9a-f]{4,64}$")
VERSION_NAME = re.compile(r"^V(\d{4,})$")
REF_SYNTAX = (
    "[[OWNER/]TYPE/]FOLDER/ASSET[:REV] where REV is branch/NAME, tag/NAME, "
    "a commit prefix (4+ hex characters) or a branch name"
)


@dataclass(frozen=True)
class Rev:
    kind: RevKind
    value: str

    @property
    def could_be_commit(self) -> bool:
        return self.kind == "bare" and bool(_HEX.match(self.value))

    def __str__(self) -> str:
        return self.value if self.kind == "bare" else f"{self.kind}/{self.value}"


MAIN = Rev("branch", "main")


@dataclass(frozen=True)
class AssetRef:
    folder: str
    asset: str
    rev: Rev = MAIN
    type: str | None = None
    owner: str | None = None
    explicit_rev: bool = False

    def __str__(self) -> str:
        head = "/".join(p for p in (self.owner, self.type, self.folder, self.asset) if p)
        return f"{head}:{self.rev}" if self.explicit_rev else head


def parse_rev(text: str) -> Rev:
    if text.startswith("branch/"):
        return Rev("branch", check_name(text[len("branch/") :], "branch"))
    if text.startswith("tag/"):
        return Rev("tag", check_name(text[len("tag/") :], "tag"))
    if "/" in text:
        raise InvalidInput(
            f"invalid revision {text!r}: use branch/NAME, tag/NAME, a commit "
            "prefix or a branch name"
        )
    return Rev("bare", check_name(text, "branch or commit"))


def parse_ref(text: str, *, type_hint: str | None = None) -> AssetRef:
    """Parse a ref string. ``type_hint`` is the asset type the command implies, if any."""
    if not isinstance(text, str) or not text.strip():
        raise InvalidInput(f"empty ref: expected {REF_SYNTAX}")
    path, sep, rev_text = text.partition(":")
    if sep and not rev_text:
        raise InvalidInput(f"ref {text!r} ends with ':': give a revision after it or drop the ':'")
    parts = path.split("/")
    owner = type_ = None
    if len(parts) == 4:
        owner, type_, folder, asset = parts
        check_name(owner, "user")
    elif len(parts) == 3:
        type_, folder, asset = parts
    elif len(parts) == 2:
        folder, asset = parts
    else:
        raise InvalidInput(f"cannot read ref {text!r}: expected {REF_SYNTAX}")
    if type_ is not None and type_ not in ASSET_TYPES:
        raise InvalidInput(
            f"ref {text!r} names type {type_!r}: the type prefix is one of {', '.join(ASSET_TYPES)}"
        )
    if type_ and type_hint and type_ != type_hint:
        raise InvalidInput(f"ref {text!r} names a {type_} where a {type_hint} is expected")
    check_name(folder, "folder")
    check_name(asset, "asset")
    rev = parse_rev(rev_text) if sep else MAIN
    return AssetRef(
        folder=folder,
        asset=asset,
        rev=rev,
        type=type_ or type_hint,
        owner=owner,
        explicit_rev=bool(sep),
    )


def parse_folder(text: str, *, type_hint: str | None = None) -> tuple[str | None, str]:
    """Parse ``[TYPE/]FOLDER`` as the folder commands take it."""
    parts = text.split("/") if isinstance(text, str) else []
    type_: str | None
    if len(parts) == 2:
        type_, name = parts
        if type_ not in ASSET_TYPES:
            raise InvalidInput(
                f"folder {text!r}: the type is one of {', '.join(ASSET_TYPES)}, e.g. "
                "model/image-classification"
            )
    elif len(parts) == 1:
        type_, name = type_hint, parts[0]
    else:
        raise InvalidInput(
            f"cannot read folder {text!r}: expected TYPE/FOLDER, e.g. model/image-classification"
        )
    return type_, check_name(name, "folder")


def parse_version_ref(text: str) -> tuple[str, str]:
    """``JOB:V0001`` -> (job, version)."""
    job, sep, version = text.partition(":")
    if not sep or not VERSION_NAME.match(version):
        raise InvalidInput(
            f"cannot read version {text!r}: expected JOB:VERSION, e.g. mnist-eval:V0001"
        )
    return check_name(job, "job"), version
