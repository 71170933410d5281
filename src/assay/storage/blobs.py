"""Content-addressed blob store on fsspec.

A blob lives at ``<root>/blobs/<sha[:2]>/<sha[2:4]>/<sha>``. No path in storage is ever built
from a client string: only from a hash this module computed or checked itself. Writes go to a
temporary name first and are moved into place only once the content's hash is known, so a
reader never sees a half-written blob.
"""

from __future__ import annotations

import hashlib
import os
import re
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from typing import IO

import fsspec
from fsspec.implementations.local import LocalFileSystem

from assay.core.errors import InvalidInput, PayloadTooLarge

CHUNK = 1024 * 1024
_SHA = re.compile(r"^[0-9a-f]{64}$")


def check_sha256(value: str) -> str:
    if not isinstance(value, str) or not _SHA.match(value):
        raise InvalidInput(f"invalid SHA-256 {value[:80]!r}: expected 64 lowercase hex characters")
    return value


class BlobStore:
    def __init__(self, url: str) -> None:
        self.fs, root = fsspec.core.url_to_fs(url)
        self.root = root.rstrip("/")
        self._local = isinstance(self.fs, LocalFileSystem)
        if self._local:
            os.makedirs(self.root, exist_ok=True)

    def _path(self, sha256: str) -> str:
        check_sha256(sha256)
        return f"{self.root}/blobs/{sha256[:2]}/{sha256[2:4]}/{sha256}"

    def local_path(self, sha256: str) -> str | None:
        """The blob's file on this machine when storage is a local directory, else None."""
        return self._path(sha256) if self._local else None

    def exists(self, sha256: str) -> bool:
        return bool(self.fs.exists(self._path(sha256)))

    async def put_stream(
        self, chunks: AsyncIterator[bytes], *, max_bytes: int, expected_sha256: str | None = None
    ) -> tuple[str, int]:
        """Store a stream; return its (sha256, size). Nothing is kept if it fails."""
        digest = hashlib.sha256()
        size = 0
        tmp_dir = self.root if self._local else None
        fd, tmp = tempfile.mkstemp(prefix=".upload-", dir=tmp_dir)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in chunks:
                    size += len(chunk)
                    if size > max_bytes:
                        raise PayloadTooLarge(
                            f"upload is larger than the server's limit of {max_bytes} bytes "
                            "(setting ASSAY_MAX_UPLOAD_BYTES)"
                        )
                    digest.update(chunk)
                    out.write(chunk)
            sha = digest.hexdigest()
            if expected_sha256 is not None and sha != expected_sha256:
                raise InvalidInput(
                    f"uploaded content has SHA-256 {sha}, not {expected_sha256} as announced: "
                    "the file changed while it was sent, or the hash is wrong"
                )
            self._commit_file(tmp, sha)
            return sha, size
        finally:
            if os.path.exists(tmp):
                os.unlink(tmp)

    def put_bytes(self, data: bytes) -> str:
        sha = hashlib.sha256(data).hexdigest()
        if not self.exists(sha):
            path = self._path(sha)
            if not self._local:  # an object store's PUT is atomic: no temporary name
                self.fs.pipe_file(path, data)
                return sha
            self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{path}.{uuid.uuid4().hex}.tmp"
            with self.fs.open(tmp, "wb") as out:
                out.write(data)
            self.fs.mv(tmp, path)
        return sha

    def put_file(self, path: str | os.PathLike[str]) -> tuple[str, int]:
        """Store a local file (streamed, hashed first); return its (sha256, size)."""
        digest, size = hashlib.sha256(), 0
        with open(path, "rb") as f:
            while chunk := f.read(CHUNK):
                digest.update(chunk)
                size += len(chunk)
        sha = digest.hexdigest()
        if not self.exists(sha):
            target = self._path(sha)
            if not self._local:  # streamed, multipart when large; the object appears whole
                self.fs.put_file(str(path), target)
                return sha, size
            self.fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            tmp = f"{target}.{uuid.uuid4().hex}.tmp"
            self.fs.put_file(str(path), tmp)
            self.fs.mv(tmp, target)
        return sha, size

    def _commit_file(self, tmp: str, sha: str) -> None:
        path = self._path(sha)
        if self.exists(sha):
            return
        self.fs.makedirs(path.rsplit("/", 1)[0], exist_ok=True)
        if self._local:
            os.chmod(tmp, 0o444)  # blobs never change; read-only guards against stray writes
            os.replace(tmp, path)  # atomic on one filesystem; the same content if it raced
        else:
            self.fs.put_file(tmp, path)

    def open(self, sha256: str) -> IO[bytes]:
        return self.fs.open(self._path(sha256), "rb")  # type: ignore[no-any-return]

    def read_bytes(self, sha256: str) -> bytes:
        with self.open(sha256) as f:
            return f.read()

    def iter_chunks(self, sha256: str) -> Iterator[bytes]:
        with self.open(sha256) as f:
            while chunk := f.read(CHUNK):
                yield chunk
