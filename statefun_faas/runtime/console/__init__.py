"""The web console of ``statefun-faas run`` and ``dev``: the functions, addresses, state, inboxes, history and
dead letters of the running runtime, on a port of its own (docs/observability.md)."""

from statefun_faas.runtime.console.server import DEFAULT_PORT, Console, ConsoleOptions
from statefun_faas.runtime.console.source import RELOADS_KEPT, ModuleReload

__all__ = ["DEFAULT_PORT", "RELOADS_KEPT", "Console", "ConsoleOptions", "ModuleReload"]
