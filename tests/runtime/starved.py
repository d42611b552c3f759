"""A runtime process that can be starved of file descriptors on command, for the tests of local shortages.

``python -m tests.runtime.starved MODULE STATE LOOP``: lowers its open-files limit, starts the runtime
(``LOOP`` ``asyncio`` or ``uvloop``, as ``run`` uses when installed), prints one JSON line with its ports,
then reads commands on stdin, answering each with a JSON line: ``hog`` opens /dev/null until the limit
is reached and holds every descriptor, ``free`` closes them, ``stop`` stops the runtime (answering with
its counters). Logs go to stderr.
"""

from __future__ import annotations

import asyncio
import errno
import json
import logging
import os
import resource
import sys
from dataclasses import asdict
from typing import Any

from statefun_faas.runtime.app import Options, Runtime

LIMIT = 256


def say(**fields: Any) -> None:
    print(json.dumps(fields), flush=True)


def hog() -> list[int]:
    held = []
    while True:
        try:
            held.append(os.open(os.devnull, os.O_RDONLY))
        except OSError as error:
            if error.errno != errno.EMFILE:
                raise
            return held


async def main(module: str, state: str) -> None:
    runtime = Runtime([module], None, Options(state_dir=state))
    await runtime.start()
    say(ports=runtime.ports)
    loop, held = asyncio.get_running_loop(), list[int]()
    while command := (await loop.run_in_executor(None, sys.stdin.readline)).strip():
        if command == "hog":
            held = hog()
            say(held=len(held))
        elif command == "free":
            for fd in held:
                os.close(fd)
            say(freed=len(held))
            held = []
        elif command == "stop":
            await runtime.stop()
            say(counters=asdict(runtime.router.counters))
            return


if __name__ == "__main__":
    module_path, state_dir, loop_name = sys.argv[1:]
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(message)s", stream=sys.stderr)
    resource.setrlimit(resource.RLIMIT_NOFILE, (LIMIT, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    if loop_name == "uvloop":
        import uvloop

        uvloop.run(main(module_path, state_dir))
    else:
        asyncio.run(main(module_path, state_dir))
