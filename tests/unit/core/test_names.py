from __future__ import annotations

import pytest

from assay.core.errors import InvalidInput
from assay.core.names import check_name, check_path


@pytest.mark.parametrize("name", ["a", "mnist-cnn-keras", "v1.2_final", "A" * 64, "0x"])
def test_good_names(name: str) -> None:
    assert check_name(name, "asset") == name


@pytest.mark.parametrize("name", ["", "-a", ".a", "a b", "a/b", "a:b", "ü", "A" * 65, ".."])
def test_bad_names(name: str) -> None:
    with pytest.raises(InvalidInput, match="invalid asset name"):
        check_name(name, "asset")


@pytest.mark.parametrize("path", ["a", "a/b.txt", "dir/sub/x.onnx", ".hidden", "a..b"])
def test_good_paths(path: str) -> None:
    assert check_path(path) == path


@pytest.mark.parametrize(
    ("path", "why"),
    [
        ("../x", "may not leave"),
        ("a/../../x", "may not leave"),
        ("a//b", "empty"),
        ("./a", "'.'"),
        ("/etc/passwd", "absolute"),
        ("C:/x", "absolute"),
        ("a\\..\\b", "backslash"),
        ("a\x00b", "control character"),
        ("a\nb", "control character"),
        ("x" * 256, "longer than 255"),
        ("a/" * 600 + "b", "longer than 1024"),
    ],
)
def test_bad_paths(path: str, why: str) -> None:
    with pytest.raises(InvalidInput, match=why):
        check_path(path)
