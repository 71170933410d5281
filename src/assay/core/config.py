"""Settings, in one typed place. Every field reads ``ASSAY_<NAME>`` from the environment."""

from __future__ import annotations

import os
import tempfile
from functools import lru_cache
from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


def _default_home() -> Path:
    return Path(os.path.expanduser("~")) / ".assay"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="ASSAY_", extra="ignore")

    home: Path = Field(
        default_factory=_default_home,
        description="Directory of the embedded instance: database, files, keys.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the metadata database; default SQLite in `home`.",
    )
    storage_url: str | None = Field(
        default=None,
        description="fsspec URL where file contents live; default a directory in `home`.",
    )
    local_user: str = Field(
        default="local", description="Name of the user that embedded (no-login) mode acts as."
    )
    max_upload_bytes: int = Field(
        default=64 * 1024**3, description="Largest single file the server accepts."
    )
    max_json_bytes: int = Field(
        default=8 * 1024**2, description="Largest JSON request body the server accepts."
    )
    work_dir: Path | None = Field(
        default=None,
        description="Where task working directories are made; default a private directory "
        "in the system's temporary directory, away from the database and keys.",
    )
    decode_cache_bytes: int = Field(
        default=4 * 1024**3,
        description="Bytes of decoded dataset pixels kept in $ASSAY_HOME/cache/decoded for "
        "the next evaluation of the same dataset (least recently used out; 0 turns it off).",
    )
    allowed_networks: str = Field(
        default="",
        description="Comma-separated networks (CIDR) that endpoints registered by users who "
        "are not admins may point at although they are special addresses: loopback, "
        "link-local (cloud metadata), ... (none by default; see docs/reliability.md).",
    )
    storage_roots: str = Field(
        default="",
        description="Comma-separated directories under which a job's --model-path or "
        "--data-path may lie on a server (none by default). Embedded mode reads the user's "
        "own files.",
    )
    host: str | None = Field(
        default=None, description="URL of a remote server; overrides stored credentials."
    )
    api_key: str | None = Field(
        default=None, description="API key for `host`; overrides stored credentials."
    )

    @property
    def resolved_database_url(self) -> str:
        return self.database_url or f"sqlite:///{self.home / 'assay.db'}"

    @property
    def resolved_storage_url(self) -> str:
        return self.storage_url or str(self.home / "files")

    @property
    def storage_root_list(self) -> list[str]:
        return [r.strip() for r in self.storage_roots.split(",") if r.strip()]

    @property
    def resolved_work_dir(self) -> Path:
        return self.work_dir or Path(tempfile.gettempdir()) / f"assay-work-{os.getuid()}"

    @property
    def admin_key_path(self) -> Path:
        return self.home / "admin.key"

    @property
    def credentials_path(self) -> Path:
        return self.home / "credentials.json"


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return Settings()
