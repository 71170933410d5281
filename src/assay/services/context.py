"""What every service call receives: who acts, the database session and the blob store."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.orm import Session

from assay.core.config import Settings
from assay.db.session import Database
from assay.storage.blobs import BlobStore


@dataclass(frozen=True)
class Actor:
    id: str
    name: str
    is_admin: bool

    def can_see(self, owner_id: str) -> bool:
        """Private by default: a user sees what they own; an admin sees everything."""
        return self.is_admin or self.id == owner_id


@dataclass
class Ctx:
    session: Session
    actor: Actor
    store: BlobStore
    settings: Settings
    embedded: bool = False  # the local user's own instance: may read their own files


@dataclass
class Instance:
    """One running Assay: its settings, database and blob store."""

    settings: Settings
    db: Database
    store: BlobStore
    local_user: str | None  # embedded mode: requests without a key act as this user
