"""Dynamic registration: module.yaml edits take effect while running; outside writes to the store are picked up."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from statefun_faas.moduleyaml.reader import ModuleError, load_module

if TYPE_CHECKING:
    from statefun_faas.runtime.app import Runtime

logger = logging.getLogger("statefun_faas.runtime")

EXPIRE_EVERY_S = 30.0


def _mtimes(paths: list[str]) -> list[float | None]:
    stamps: list[float | None] = []
    for path in paths:
        try:
            stamps.append(os.stat(path).st_mtime_ns)
        except OSError:
            stamps.append(None)
    return stamps


class Watcher:
    """Polls the module files and the store every ``poll_s`` seconds (:meth:`run`, until cancelled). What it
    has seen outlives a failed run (e.g. a SQLite error), so a change made while it was down is still seen."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.seen, self.version = _mtimes(runtime.module_paths), runtime.store.data_version()
        self.next_expiry: float | None = None

    async def run(self) -> None:
        runtime, loop = self.runtime, asyncio.get_running_loop()
        if self.next_expiry is None:
            self.next_expiry = loop.time() + EXPIRE_EVERY_S
        while True:
            await asyncio.sleep(runtime.options.poll_s)
            stamps = _mtimes(runtime.module_paths)
            if stamps != self.seen:
                await _reload(runtime)
                self.seen = stamps
            current = runtime.store.data_version()
            if current != self.version:  # another process wrote, e.g. `statefun-faas dead-letters --replay`
                runtime.router.recover()
                self.version = current
            if loop.time() >= self.next_expiry:
                runtime.store.expire(runtime.router.clock())
                self.next_expiry = loop.time() + EXPIRE_EVERY_S


async def _reload(runtime: Runtime) -> None:
    try:  # parsed off the event loop: the ports keep answering while a large file is read
        module = await asyncio.to_thread(load_module, *runtime.module_paths)
    except ModuleError as error:
        logger.error("module.yaml changed but can not be used, keeping the previous one: %s", error)
        return
    try:
        await runtime.apply_module(module)
    except OSError as error:
        logger.error("module.yaml changed but its ports can not be opened: %s", error)
