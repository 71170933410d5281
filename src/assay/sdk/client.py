"""HTTP client of the REST API, mapping error responses back to ``AssayError`` families."""

from __future__ import annotations

import hashlib
import json
import os
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from assay.core.config import Settings, get_settings
from assay.core.errors import BY_STATUS, FAMILIES, AssayError, ConnectionFailed, InvalidInput

API_PREFIX = "/api/v1"
CHUNK = 1024 * 1024
# Attempts after the first, on a timeout or a lost connection (and while the server says an
# earlier attempt with the same Idempotency-Key is still in progress): 0.5 s, 1 s, 2 s apart.
RETRIES = 3
Progress = Callable[[int], None]


@dataclass(frozen=True)
class Credentials:
    host: str
    api_key: str


def load_credentials(settings: Settings) -> Credentials | None:
    """Environment first (ASSAY_HOST / ASSAY_API_KEY), then what `assay login` stored."""
    if settings.host:
        if not settings.api_key:
            raise InvalidInput("ASSAY_HOST is set but ASSAY_API_KEY is not")
        return Credentials(settings.host, settings.api_key)
    path = settings.credentials_path
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        return Credentials(str(data["host"]), str(data["api_key"]))
    except (ValueError, KeyError, TypeError):
        raise InvalidInput(
            f"{path} is not valid credentials JSON: run `assay logout` and log in again"
        ) from None


def save_credentials(settings: Settings, creds: Credentials | None) -> None:
    path = settings.credentials_path
    if creds is None:
        path.unlink(missing_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump({"host": creds.host, "api_key": creds.api_key}, f)


def raise_for(response: httpx.Response) -> None:
    if response.is_success:
        return
    try:
        err = response.json()["error"]
        family = FAMILIES.get(err["type"]) or BY_STATUS.get(response.status_code, AssayError)
        raise family(str(err["message"]), details=err.get("details") or {})
    except (ValueError, KeyError, TypeError):
        family = BY_STATUS.get(response.status_code, AssayError)
        raise family(f"server answered {response.status_code}: {response.text[:200]}") from None


def _in_progress(response: httpx.Response) -> bool:
    """The server's answer to a retry that arrived while the first attempt still runs."""
    if response.status_code != 409:
        return False
    try:
        return bool(response.json()["error"]["details"].get("in_progress"))
    except (ValueError, KeyError, TypeError, AttributeError):
        return False


def file_digest(path: Path, progress: Progress | None = None) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    with open(path, "rb") as f:
        while chunk := f.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
            if progress:
                progress(len(chunk))
    return digest.hexdigest(), size


class Client:
    """One connection to an Assay instance: remote when credentials are given, else embedded."""

    def __init__(
        self,
        host: str | None = None,
        api_key: str | None = None,
        *,
        source: str = "sdk",
        settings: Settings | None = None,
        timeout: float | None = None,
        retries: int = RETRIES,
    ) -> None:
        self.settings = settings or get_settings()
        self.source = source
        self.retries = retries
        if host is None and api_key is None:
            creds = load_credentials(self.settings)
            if creds is not None:
                host, api_key = creds.host, creds.api_key
        limits = httpx.Timeout(60.0, read=600.0) if timeout is None else httpx.Timeout(timeout)
        if host:
            if not api_key:
                raise InvalidInput("an API key is needed to use a remote server (--api-key)")
            self.host: str | None = host.rstrip("/")
            self._http = httpx.Client(
                base_url=self.host + API_PREFIX,
                timeout=limits,
                headers={"Authorization": f"Bearer {api_key}"},
            )
        else:
            from assay.sdk.embedded import server_for

            self.host = None
            server = server_for(self.settings)
            self._http = httpx.Client(
                transport=httpx.HTTPTransport(uds=server.socket_path),
                base_url="http://embedded" + API_PREFIX,
                timeout=limits,
            )

    @property
    def embedded(self) -> bool:
        return self.host is None

    def close(self) -> None:
        self._http.close()

    def request(self, method: str, path: str, *, retry: bool | None = None, **kwargs: Any) -> Any:
        """Send one request. A request that may safely be sent again (a GET, or a create that
        carries an Idempotency-Key, which the server answers once) is retried after a
        timeout or a lost connection."""
        if retry is None:
            retry = method == "GET"
        attempt = 0
        while True:
            try:
                response = self._http.request(method, path, **kwargs)
            except httpx.TransportError as exc:
                if retry and attempt < self.retries:
                    attempt += 1
                    time.sleep(0.5 * 2 ** (attempt - 1))
                    continue
                where = self.host or "the embedded instance"
                raise ConnectionFailed(f"cannot reach {where}: {exc}") from None
            if retry and attempt < self.retries and _in_progress(response):
                attempt += 1
                time.sleep(0.5 * 2 ** (attempt - 1))
                continue
            raise_for(response)
            return response.json()

    def get(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("GET", path, params=clean)

    def post(self, path: str, body: Any, method: str = "POST") -> Any:
        # Encoded here, not by httpx: httpx refuses NaN and infinity with a bare ValueError,
        # while the server refuses them with a clear InvalidInput (one rule, in one place).
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        headers = {"Content-Type": "application/json"}
        # One key per call, the same on each of its retries: the server creates at most once.
        # (PUTs replace a whole object, so sending one again is harmless.)
        if method == "POST":
            headers["Idempotency-Key"] = uuid.uuid4().hex
        return self.request(method, path, retry=True, content=content, headers=headers)

    def put(self, path: str, body: Any) -> Any:
        return self.post(path, body, method="PUT")

    def delete(self, path: str, **params: Any) -> Any:
        clean = {k: v for k, v in params.items() if v is not None}
        return self.request("DELETE", path, params=clean)

    def upload(self, path: Path, sha256: str, size: int, progress: Progress | None = None) -> None:
        def chunks() -> Iterator[bytes]:
            with open(path, "rb") as f:
                while chunk := f.read(CHUNK):
                    if progress:
                        progress(len(chunk))
                    yield chunk

        self.request(
            "PUT",
            f"/blobs/{sha256}",
            content=chunks(),
            headers={"Content-Length": str(size), "Content-Type": "application/octet-stream"},
        )

    def download(
        self, path: str, target: Path, params: dict[str, str], progress: Progress | None = None
    ) -> str:
        """Stream a file to ``target`` (via a temporary name); return its SHA-256."""
        digest = hashlib.sha256()
        tmp = target.with_name(f".{target.name}.part")
        try:
            with self._http.stream("GET", path, params=params) as response:
                if not response.is_success:
                    response.read()
                    raise_for(response)
                with open(tmp, "wb") as out:
                    for chunk in response.iter_bytes(CHUNK):
                        digest.update(chunk)
                        out.write(chunk)
                        if progress:
                            progress(len(chunk))
            os.replace(tmp, target)
        except httpx.TransportError as exc:
            raise ConnectionFailed(f"download of {target.name} failed: {exc}") from None
        finally:
            tmp.unlink(missing_ok=True)
        return digest.hexdigest()
