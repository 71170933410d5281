"""Which backend runs a pool's tasks: the scheduler's own (local processes) for local pools, and
one Ray backend per cluster address, connected on first use."""

from __future__ import annotations

import threading

from assay.backends.base import Backend


class PoolBackends:
    def __init__(self, default: Backend) -> None:
        self.default = default
        self._ray: dict[str, Backend] = {}
        self._lock = threading.Lock()

    @property
    def kinds(self) -> set[str]:
        """The pool backends this scheduler drives."""
        return {self.default.name, "ray"}

    def get(self, kind: str, address: str | None) -> Backend:
        if kind != "ray":
            return self.default
        from assay.backends.ray import RayBackend, normalise_address

        key = normalise_address(address)
        with self._lock:
            backend = self._ray.get(key)
            if backend is None:
                backend = self._ray[key] = RayBackend(key)
            return backend

    def close(self) -> None:
        with self._lock:
            for backend in self._ray.values():
                close = getattr(backend, "close", None)
                if close is not None:
                    close()
            self._ray.clear()
