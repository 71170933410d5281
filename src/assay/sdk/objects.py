"""Object wrappers of seed 001's SDK: Folder -> Asset -> Branch / Tag, each bound to a Client."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from assay.core.names import TYPE_TITLES
from assay.sdk import transfer
from assay.sdk.client import Client
from assay.sdk.transfer import ProgressHooks

log = logging.getLogger("assay")


def ref_of(target: Asset | Branch | Tag | str) -> str:
    """The ref string an SDK object (or a string) stands for."""
    if isinstance(target, str):
        return target
    if isinstance(target, Asset):
        return target.path
    return target.ref


class Folder:
    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self._client = client
        self.type: str = data["type"]
        self.name: str = data["name"]
        self.owner: str = data["owner"]

    def __repr__(self) -> str:
        return f"<Folder {self.owner}/{self.type}/{self.name}>"

    def create_asset(self, name: str, format: str | None = None) -> Asset:
        """``format`` (datasets only): a built-in task format every commit is checked in."""
        log.info("Creating %s %s in Folder %s", TYPE_TITLES[self.type], name, self.name)
        body = {"type": self.type, "folder": self.name, "name": name, "format": format}
        return Asset(self._client, self._client.post("/assets", body))

    def get_asset(self, name: str) -> Asset:
        ref = f"{self.owner}/{self.type}/{self.name}/{name}"
        return Asset(self._client, self._client.get("/assets/lookup", ref=ref)["asset"])

    def list_assets(self) -> list[Asset]:
        return [
            Asset(self._client, a)
            for a in self._client.get("/assets", type=self.type, folder=self.name)
        ]

    def delete_asset(self, name: str) -> None:
        self.get_asset(name).delete()


class Asset:
    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self._client = client
        self.id: str = data["id"]
        self.type: str = data["type"]
        self.folder: str = data["folder"]
        self.name: str = data["name"]
        self.owner: str = data["owner"]
        self.path: str = data["path"]

    def __repr__(self) -> str:
        return f"<{TYPE_TITLES[self.type]} {self.path}>"

    @property
    def title(self) -> str:
        return f"{TYPE_TITLES[self.type]} {self.name}"

    def delete(self) -> None:
        log.info("Deleting %s", self.title)
        self._client.delete(f"/assets/{self.id}")

    def resolve(self, rev: str = "main") -> dict[str, Any]:
        return self._client.get(f"/assets/{self.id}/resolve", rev=rev)  # type: ignore[no-any-return]

    # branches and tags
    def create_branch(self, name: str, source: str = "main") -> Branch:
        log.info("Creating branch %s of %s", name, self.title)
        self._client.post(f"/assets/{self.id}/branches", {"name": name, "from": source})
        return Branch(self, name)

    def get_branch(self, name: str) -> Branch:
        self.resolve(f"branch/{name}")
        return Branch(self, name)

    def list_branches(self) -> list[dict[str, Any]]:
        return self._client.get(f"/assets/{self.id}/branches")  # type: ignore[no-any-return]

    def delete_branch(self, name: str) -> None:
        log.info("Deleting branch %s of %s", name, self.title)
        self._client.delete(f"/assets/{self.id}/branches/{name}")

    def create_tag(self, name: str, ref: str = "main") -> Tag:
        log.info("Creating tag %s of %s", name, self.title)
        self._client.post(f"/assets/{self.id}/tags", {"name": name, "ref": ref})
        return Tag(self, name)

    def list_tags(self) -> list[dict[str, Any]]:
        return self._client.get(f"/assets/{self.id}/tags")  # type: ignore[no-any-return]

    def delete_tag(self, name: str) -> None:
        log.info("Deleting tag %s of %s", name, self.title)
        self._client.delete(f"/assets/{self.id}/tags/{name}")

    # history and files
    def list_commits(self, rev: str = "main") -> list[dict[str, Any]]:
        return self._client.get(f"/assets/{self.id}/commits", rev=rev)  # type: ignore[no-any-return]

    def list_files(self, rev: str = "main") -> list[dict[str, Any]]:
        return self._client.get(f"/assets/{self.id}/files", rev=rev)  # type: ignore[no-any-return]

    def download(
        self, output: str | Path = ".", rev: str = "main", progress: ProgressHooks | None = None
    ) -> list[Path]:
        return transfer.download(self._client, self.id, rev, Path(output), progress)

    def create_commit(
        self,
        message: str,
        add: list[str] | None = None,
        delete: list[str] | None = None,
        branch: str = "main",
        progress: ProgressHooks | None = None,
    ) -> dict[str, Any]:
        commit = transfer.commit(
            self._client, self.id, branch, message, list(add or []), list(delete or []), progress
        )
        log.info("Committed %s to branch %s of %s", commit["id"][:8], branch, self.title)
        return commit

    # evaluations (on main)
    def create_evaluation(
        self, metrics: dict[str, Any], dataset: Asset | Branch | Tag | str
    ) -> dict[str, Any]:
        return Branch(self, "main").create_evaluation(metrics, dataset)

    def list_evaluation(self, all_commits: bool = False) -> list[dict[str, Any]]:
        return Branch(self, "main").list_evaluation(all_commits)


class _RevOf:
    """A named revision of an asset (a branch or a tag)."""

    kind = "branch"

    def __init__(self, asset: Asset, name: str) -> None:
        self.asset = asset
        self.name = name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.ref}>"

    @property
    def rev(self) -> str:
        return f"{self.kind}/{self.name}"

    @property
    def ref(self) -> str:
        return f"{self.asset.path}:{self.rev}"

    @property
    def commit(self) -> str:
        """The full id of the commit this revision points at now."""
        return str(self.asset.resolve(self.rev)["commit"]["id"])

    def list_commits(self) -> list[dict[str, Any]]:
        return self.asset.list_commits(self.rev)

    def list_files(self) -> list[dict[str, Any]]:
        return self.asset.list_files(self.rev)

    def download(
        self, output: str | Path = ".", progress: ProgressHooks | None = None
    ) -> list[Path]:
        return self.asset.download(output, self.rev, progress)

    def create_evaluation(
        self, metrics: dict[str, Any], dataset: Asset | Branch | Tag | str
    ) -> dict[str, Any]:
        client = self.asset._client
        ev: dict[str, Any] = client.post(
            "/evaluations",
            {
                "model": self.ref,
                "dataset": ref_of(dataset),
                "metrics": metrics,
                "source": client.source,
            },
        )
        log.info("Creating evaluation of commit %s of %s", ev["modelCommit"][:8], self.asset.title)
        return ev

    def list_evaluation(self, all_commits: bool = False) -> list[dict[str, Any]]:
        return self.asset._client.get(  # type: ignore[no-any-return]
            "/evaluations", ref=self.ref, all_commits=all_commits or None
        )


class Branch(_RevOf):
    kind = "branch"

    def create_commit(
        self,
        message: str,
        add: list[str] | None = None,
        delete: list[str] | None = None,
        progress: ProgressHooks | None = None,
    ) -> dict[str, Any]:
        return self.asset.create_commit(message, add, delete, self.name, progress)

    def delete(self) -> None:
        self.asset.delete_branch(self.name)


class Tag(_RevOf):
    kind = "tag"

    def delete(self) -> None:
        self.asset.delete_tag(self.name)
