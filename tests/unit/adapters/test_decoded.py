"""The decoded-pixel cache: keys follow what the pixels depend on, files appear only whole,
the byte budget holds with the least recently used file out first."""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from assay.adapters.decoded import DecodedCache, key
from assay.adapters.manifest import OnnxSpec


def _spec(**kw: object) -> OnnxSpec:
    return OnnxSpec(file="m.onnx", size=(8, 8), **kw)  # type: ignore[arg-type]


def test_keys_change_with_what_the_pixels_depend_on() -> None:
    base = key("commit-a", _spec(), 0, 2)
    assert base == key("commit-a", _spec(mean=[0.5], std=[0.2]), 0, 2)  # normalised later
    assert base == key("commit-a", _spec(color="bgr"), 0, 2)  # the same RGB pixels
    assert base != key("commit-b", _spec(), 0, 2)
    assert base != key("commit-a", _spec(color="gray"), 0, 2)
    assert base != key("commit-a", OnnxSpec(file="m.onnx", size=(8, 9)), 0, 2)
    assert base != key("commit-a", _spec(), 1, 2)
    assert base != key("commit-a", _spec(), 0, 3)


def test_budget_and_least_recently_used_out(tmp_path: Path) -> None:
    cache = DecodedCache(tmp_path, budget=3 * 1000 + 500)  # three files of 1,000 pixels fit
    assert cache.writer("huge", (10, 20, 20, 3)) is None  # larger than the whole budget
    for n, name in enumerate("abcd"):
        w = cache.writer(name, (10, 10, 10, 1))
        assert w is not None
        assert cache.get(name, 10) is None  # not there until committed
        w.put(0, np.full((10, 10, 10, 1), n, dtype=np.uint8))
        w.commit()
        if name == "a":
            time.sleep(0.01)
            cache.get("a", 10)  # used again: newer than b
            os.utime(tmp_path / "a.npy", (time.time() + 5, time.time() + 5))
        time.sleep(0.01)
    kept = sorted(p.stem for p in tmp_path.glob("*.npy"))
    assert kept == ["a", "c", "d"]  # b was the least recently used
    got = cache.get("d", 10)
    assert got is not None and int(got[0, 0, 0, 0]) == 3
    assert cache.get("d", 11) is None  # another count: not this shard's pixels
    assert not list(tmp_path.glob(".*tmp*"))


def test_an_abandoned_write_leaves_nothing(tmp_path: Path) -> None:
    cache = DecodedCache(tmp_path, budget=10**6)
    w = cache.writer("x", (2, 4, 4, 3))
    assert w is not None
    w.put(0, np.zeros((1, 4, 4, 3), dtype=np.uint8))
    w.abandon()
    assert list(tmp_path.iterdir()) == []
