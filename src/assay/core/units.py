"""Human sizes: ``8GiB``, ``512MiB``, ``1.5GB``, ``1048576``."""

from __future__ import annotations

import re

from assay.core.errors import InvalidInput

_UNITS = {
    "": 1,
    "b": 1,
    "k": 1000,
    "kb": 1000,
    "m": 1000**2,
    "mb": 1000**2,
    "g": 1000**3,
    "gb": 1000**3,
    "t": 1000**4,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$")


MAX_SIZE = 2**60  # an exbibyte: anything larger is a typo, and would overflow a BIGINT


def parse_size(text: str | int) -> int:
    if isinstance(text, int):
        if not 0 <= text <= MAX_SIZE:
            raise InvalidInput(f"size {text} is out of range (0 to {MAX_SIZE} bytes)")
        return text
    m = _SIZE.match(text)
    unit = m.group(2).lower() if m else ""
    if not m or unit not in _UNITS:
        raise InvalidInput(f"cannot read size {text!r}: use e.g. 8GiB, 512MiB or a byte count")
    return parse_size(int(float(m.group(1)) * _UNITS[unit]))


def format_size(n: int) -> str:
    for unit, factor in (("TiB", 1024**4), ("GiB", 1024**3), ("MiB", 1024**2), ("KiB", 1024)):
        if n >= factor:
            return f"{n / factor:.1f}{unit}"
    return f"{n}B"
