"""A file larger than the process's memory budget commits and downloads by streaming."""

from __future__ import annotations

import hashlib
import os
import subprocess
import time
from pathlib import Path

from tests.conftest import ASSAY, clean_env

SIZE_MB = 256


def _run(home: Path, *args: str, cwd: Path) -> tuple[str, float]:
    """Run `assay ARGS` and return its stderr and peak RSS in MiB.

    The peak is the process's own VmHWM, polled from /proc while it runs: wait4's ru_maxrss
    would include the RSS this (large) test process had when it forked the child."""
    proc = subprocess.Popen(
        [ASSAY, *args],
        cwd=cwd,
        env=clean_env(home),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    peak_kib = 0
    status = Path(f"/proc/{proc.pid}/status")
    while proc.poll() is None:
        try:
            for line in status.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    peak_kib = max(peak_kib, int(line.split()[1]))
        except (OSError, ValueError):
            pass
        time.sleep(0.02)
    err = proc.stderr.read().decode() if proc.stderr else ""
    assert proc.returncode == 0, err
    return err, peak_kib / 1024


def test_large_file_streams_through_commit_and_download(tmp_path: Path) -> None:
    home = tmp_path / "home"
    big = tmp_path / "big.bin"
    digest = hashlib.sha256()
    block = os.urandom(1 << 20)
    with open(big, "wb") as f:
        for i in range(SIZE_MB):
            chunk = block[i:] + block[:i]
            digest.update(chunk)
            f.write(chunk)
    _, baseline = _run(home, "ls", "folder", cwd=tmp_path)
    _run(home, "create", "folder", "model/f", cwd=tmp_path)
    _run(home, "create", "model", "f/big", cwd=tmp_path)
    _, commit_rss = _run(home, "commit", "f/big", "-m", "big", "-a", "big.bin", cwd=tmp_path)
    out = tmp_path / "out"
    _, download_rss = _run(home, "download", "f/big", "-o", str(out), cwd=tmp_path)

    got = hashlib.sha256()
    with open(out / "big.bin", "rb") as f:
        while chunk := f.read(1 << 20):
            got.update(chunk)
    assert got.hexdigest() == digest.hexdigest()
    # The embedded server runs inside the CLI process, so these peaks cover client and
    # server together: both must stay near an idle command's, far below the file's size.
    print(
        f"peak RSS MiB: idle {baseline:.0f}, commit {commit_rss:.0f}, "
        f"download {download_rss:.0f}, file {SIZE_MB}"
    )
    assert commit_rss < baseline + 64 < SIZE_MB
    assert download_rss < baseline + 64
    stored = list((home / "files" / "blobs").rglob(digest.hexdigest()))
    assert len(stored) == 1 and stored[0].stat().st_size == SIZE_MB << 20
