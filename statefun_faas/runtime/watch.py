"""Dynamic registration: module.yaml edits take effect while running; outside writes to the store are picked up."""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Awaitable, Callable, Sequence

from statefun_faas.errors import ConfigurationError
from statefun_faas.moduleyaml.model import Module
from statefun_faas.moduleyaml.reader import ModuleError, load_module

logger = logging.getLogger("statefun_faas.runtime")


def _mtimes(paths: Sequence[str]) -> list[float | None]:
    stamps: list[float | None] = []
    for path in paths:
        try:
            stamps.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamps.append(None)
    return stamps


class Watcher:
    """Polls the module files at ``paths`` and the store's ``data_version`` every ``poll_s`` seconds
    (:meth:`run`, until cancelled): changed files are read and handed to ``apply``, a changed data version
    (another process wrote) calls ``store_changed``. What it has seen outlives a failed run (e.g. a SQLite
    error), so a change made while it was down is still seen."""

    def __init__(
        self,
        paths: Sequence[str],
        poll_s: float,
        apply: Callable[[Module], Awaitable[None]],
        data_version: Callable[[], int],
        store_changed: Callable[[], None],
    ) -> None:
        self.paths, self.poll_s, self.apply = list(paths), poll_s, apply
        self.data_version, self.store_changed = data_version, store_changed
        self.seen, self.version = _mtimes(self.paths), data_version()

    async def run(self) -> None:
        while True:
            await asyncio.sleep(self.poll_s)
            stamps = _mtimes(self.paths)
            if stamps != self.seen:
                await self._reload()
                self.seen = stamps
            current = self.data_version()
            if current != self.version:  # another process wrote, e.g. `statefun-faas dead-letters --replay`
                self.store_changed()
                self.version = current

    async def _reload(self) -> None:
        try:  # parsed off the event loop: the ports keep answering while a large file is read
            module = await asyncio.to_thread(load_module, *self.paths)
            await self.apply(module)
        except (ModuleError, ConfigurationError) as error:  # ConfigurationError: e.g. an extra it needs is missing
            logger.error("module.yaml changed but can not be used, keeping the previous one: %s", error)
        except OSError as error:
            logger.error("module.yaml changed but its ports can not be opened: %s", error)
