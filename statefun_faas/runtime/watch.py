"""Dynamic registration: module.yaml edits take effect while running; outside writes to the store are picked up."""

from __future__ import annotations

import asyncio
import logging
import os
from typing import TYPE_CHECKING

from statefun_faas.runtime.module import ModuleError, load_module

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


async def watch(runtime: Runtime) -> None:
    """Poll the module files and the store every ``poll_s`` seconds; runs until cancelled."""
    paths = runtime.module_paths
    seen, version = _mtimes(paths), runtime.store.data_version()
    loop = asyncio.get_running_loop()
    next_expiry = loop.time() + EXPIRE_EVERY_S
    while True:
        await asyncio.sleep(runtime.options.poll_s)
        stamps = _mtimes(paths)
        if stamps != seen:
            seen = stamps
            await _reload(runtime)
        current = runtime.store.data_version()
        if current != version:  # another process wrote, e.g. `statefun-faas dead-letters --replay`
            version = current
            runtime.router.recover()
        if loop.time() >= next_expiry:
            next_expiry = loop.time() + EXPIRE_EVERY_S
            runtime.store.expire(runtime.router.clock())


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
