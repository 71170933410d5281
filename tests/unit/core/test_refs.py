from __future__ import annotations

import pytest

from assay.core.errors import InvalidInput
from assay.core.refs import MAIN, Rev, parse_folder, parse_ref


@pytest.mark.parametrize(
    ("text", "folder", "asset", "rev", "type_", "owner"),
    [
        ("f/a", "f", "a", MAIN, None, None),
        ("f/a:v1", "f", "a", Rev("bare", "v1"), None, None),
        ("f/a:branch/v1", "f", "a", Rev("branch", "v1"), None, None),
        ("f/a:tag/t1", "f", "a", Rev("tag", "t1"), None, None),
        ("f/a:4d6988c3", "f", "a", Rev("bare", "4d6988c3"), None, None),
        ("model/f/a:v1", "f", "a", Rev("bare", "v1"), "model", None),
        ("alice/dataset/f/a:main", "f", "a", Rev("bare", "main"), "dataset", "alice"),
    ],
)
def test_parse_ref(
    text: str, folder: str, asset: str, rev: Rev, type_: str | None, owner: str | None
) -> None:
    ref = parse_ref(text)
    assert (ref.folder, ref.asset, ref.rev, ref.type, ref.owner) == (
        folder,
        asset,
        rev,
        type_,
        owner,
    )


def test_commit_prefix_needs_four_hex_characters() -> None:
    assert parse_ref("f/a:4d69").rev.could_be_commit
    assert not parse_ref("f/a:4d6").rev.could_be_commit
    assert not parse_ref("f/a:v1").rev.could_be_commit


def test_type_hint_fills_and_checks_the_type() -> None:
    assert parse_ref("f/a", type_hint="dataset").type == "dataset"
    with pytest.raises(InvalidInput, match="names a model where a dataset is expected"):
        parse_ref("model/f/a", type_hint="dataset")


@pytest.mark.parametrize(
    "text",
    [
        "",
        "a",
        "a/b/c/d/e",
        "f/a:",
        "f/a:x/y",
        "bogus/f/a",
        "f/../a",
        "f/a b",
        "f/a:branch/",
        "f/a:tag/..",
        "f/-a",
    ],
)
def test_bad_refs_are_refused_with_the_syntax(text: str) -> None:
    with pytest.raises(InvalidInput):
        parse_ref(text)


def test_parse_folder() -> None:
    assert parse_folder("model/image-classification") == ("model", "image-classification")
    assert parse_folder("x", type_hint="code") == ("code", "x")
    with pytest.raises(InvalidInput, match="the type is one of"):
        parse_folder("weights/x")
