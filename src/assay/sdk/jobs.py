"""SDK objects for evaluation jobs and their versions."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

from assay.core.errors import AssayError
from assay.sdk.client import Client

FINAL_STATES = ("Completed", "Failed", "Terminated", "TimedOut")


class Job:
    def __init__(self, client: Client, name: str) -> None:
        self._client = client
        self.name = name

    def __repr__(self) -> str:
        return f"<Job {self.name}>"

    def versions(self) -> list[Version]:
        return [Version(self._client, d) for d in self._client.get(f"/jobs/{self.name}/versions")]

    def get_version(self, name: str) -> Version:
        return Version(self._client, self._client.get(f"/jobs/{self.name}/versions/{name}"))

    def create_version(self, params: dict[str, Any] | None = None, **overrides: Any) -> Version:
        """Copy the latest version's settings, override some, and queue the next version."""
        body = {**overrides, "params": params or {}}
        return Version(self._client, self._client.post(f"/jobs/{self.name}/versions", body))

    def delete(self) -> None:
        self._client.delete(f"/jobs/{self.name}")


class Version:
    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self._client = client
        self.data = data

    def __repr__(self) -> str:
        return f"<Version {self.ref} {self.status}>"

    @property
    def job(self) -> str:
        return str(self.data["job"])

    @property
    def name(self) -> str:
        return str(self.data["name"])

    @property
    def ref(self) -> str:
        return f"{self.job}:{self.name}"

    @property
    def _path(self) -> str:
        return f"/jobs/{self.job}/versions/{self.name}"

    @property
    def status(self) -> str:
        return str(self.data["state"])

    @property
    def metrics(self) -> dict[str, Any] | None:
        return self.data.get("metrics")

    def refresh(self) -> Version:
        self.data = self._client.get(self._path)
        return self

    def rescore(self, params: dict[str, Any] | None = None) -> Version:
        """llm: a new version scoring this one's stored replies again (new scorers, a
        judge) without asking the model again."""
        return Version(
            self._client, self._client.post(f"{self._path}/rescore", {"params": params or {}})
        )

    def terminate(self) -> Version:
        self.data = self._client.post(f"{self._path}/terminate", {})
        return self

    def delete(self) -> None:
        self._client.delete(self._path)

    def tasks(self) -> list[dict[str, Any]]:
        return self._client.get(f"{self._path}/tasks")  # type: ignore[no-any-return]

    def logs(self, task: int = 0) -> str:
        """The whole log of a task so far."""
        return "".join(self.follow_logs(task, follow=False))

    def follow_logs(
        self, task: int = 0, *, follow: bool = True, poll: float = 0.3
    ) -> Iterator[str]:
        """Yield a task's log in chunks; with ``follow``, until the version ends."""
        offset = 0
        while True:
            chunk = self._client.get(f"{self._path}/logs", task=task, offset=offset)
            if chunk["data"]:
                yield chunk["data"]
            offset = chunk["nextOffset"]
            if chunk["complete"] or (not follow and not chunk["data"]):
                return
            if not chunk["data"]:
                time.sleep(poll)

    def wait(
        self,
        timeout: float | None = None,
        poll: float = 1.0,
        on_update: Callable[[Version], None] | None = None,
    ) -> Version:
        """Block until the version ends. Embedded, this process runs the scheduler for it.

        Asks every 0.1 s at first, then less often up to every ``poll`` seconds: a short
        version is seen ending at once, and a long one's waiting costs the server (often the
        same machine as the tasks) a request a second, not several."""
        if self._client.embedded:
            from assay.sdk.embedded import server_for

            server_for(self._client.settings).watch(self.data["id"])
        deadline = None if timeout is None else time.monotonic() + timeout
        interval = min(poll, 0.1)
        while True:
            self.refresh()
            if on_update is not None:
                on_update(self)
            if self.status in FINAL_STATES:
                return self
            if deadline is not None and time.monotonic() > deadline:
                raise AssayError(f"{self.ref} is still {self.status} after {timeout} s")
            time.sleep(interval)
            interval = min(poll, interval * 1.5)
