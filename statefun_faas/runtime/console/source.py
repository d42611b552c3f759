"""What the console reads from the runtime that builds it (the Runtime of app.py, described here so the console
imports nothing above it), and the module reloads the runtime records for it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from statefun_faas.functions import StatefulFunctions
from statefun_faas.moduleyaml.model import Module
from statefun_faas.runtime.engine.router import Router
from statefun_faas.runtime.store.database import Store

#: module reloads a runtime remembers for the console, the newest last
RELOADS_KEPT = 20


@dataclass(frozen=True)
class ModuleReload:
    """module.yaml was read again while running: when (epoch seconds), what it declares now, and which
    endpoints (by their ``functions``) came and went."""

    at: float
    endpoints: int
    ingresses: int
    egresses: int
    added: tuple[str, ...]
    removed: tuple[str, ...]

    @classmethod
    def between(cls, before: Module, after: Module, at: float) -> ModuleReload:
        old = [endpoint.functions for endpoint in before.endpoints]
        new = [endpoint.functions for endpoint in after.endpoints]
        return cls(
            at,
            len(after.endpoints),
            len(after.ingresses),
            len(after.egresses),
            tuple(f for f in new if f not in old),
            tuple(f for f in old if f not in new),
        )


class Exposition(Protocol):
    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The metrics in the Prometheus text format (or OpenMetrics when ``accept`` asks): body, content type."""


class Observed(Protocol):
    """The running runtime, as the console sees it: the console reads its store (on the runtime's event loop,
    between the router's transactions) and replays or discards dead letters through it."""

    @property
    def store(self) -> Store: ...

    @property
    def router(self) -> Router: ...

    @property
    def module(self) -> Module: ...

    @property
    def functions(self) -> StatefulFunctions | None: ...

    @property
    def reloads(self) -> Sequence[ModuleReload]: ...

    @property
    def ports(self) -> dict[str, int]: ...

    @property
    def metrics(self) -> Exposition: ...
