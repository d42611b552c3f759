"""A function server that misbehaves on demand: our ASGI app under uvicorn behind a fault wrapper.

``POST /__faults`` with JSON ``{"kind": K, "count": N}`` arms the next N function requests with
fault K: ``error`` (503 without calling the function), ``error-after`` (the function runs, its answer
is dropped, 500), ``timeout`` (the function runs, the answer is held past the caller's read
timeout) or ``slow`` (held ``slow_s`` seconds, then answered). A request holding a poison message
(its argument starts with :data:`POISON_JSON`) is answered 422 every time, before any armed fault: the
function rejects that message deterministically, as a function validating its input would. Each
fault served is appended as one line to the fault log, so counts survive the server being killed.

Run: ``python tests/verifier/faulty.py --port P --fault-log FILE --functions FILE [--hold S]``. It
imports nothing from ``tests``, so it runs as a file against the installed package.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import socket
import sys
from collections import deque
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from statefun_faas.adapters.asgi import Message, Receive, Scope, Send, StatefunASGIApp

CONTROL_PATH = "/__faults"
KINDS = ("error", "error-after", "timeout", "slow")
#: how a poison message's argument starts (its first command is ``[interpreter.POISON, name]``)
POISON_JSON = b'[["poison", '
POISON_STATUS = 422


class FaultyApp:
    """Wraps an ASGI app; faults are armed through :data:`CONTROL_PATH`."""

    def __init__(self, app: StatefunASGIApp, fault_log: Path, hold_s: float) -> None:
        self.app, self.fault_log, self.hold_s = app, fault_log, hold_s
        self.armed: deque[str] = deque()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
        elif scope.get("path") == CONTROL_PATH:
            await self._control(receive, send)
        else:
            body = await _body(receive)
            replay = _replay(body, receive)
            if POISON_JSON in body:
                self._log("poison")
                await _answer(send, POISON_STATUS, b"poison message: the function rejects it")
            elif self.armed:
                kind = self.armed.popleft()
                self._log(kind)
                await self._fault(kind, scope, replay, send)
            else:
                await self.app(scope, replay, send)

    def _log(self, kind: str) -> None:
        with self.fault_log.open("a") as log:
            log.write(kind + "\n")

    async def _control(self, receive: Receive, send: Send) -> None:
        request = json.loads((await receive()).get("body", b"") or b"{}")
        if request.get("kind") not in KINDS:
            await _answer(send, 400, f"kind must be one of {KINDS}".encode())
            return
        self.armed.extend([request["kind"]] * int(request.get("count", 1)))
        await _answer(send, 200, b"armed")

    async def _fault(self, kind: str, scope: Scope, receive: Receive, send: Send) -> None:
        if kind == "error":
            await _answer(send, 503, b"injected fault")
            return
        if kind == "slow":
            await asyncio.sleep(random.uniform(0.05, self.hold_s / 2))
            await self.app(scope, receive, send)
            return
        held: list[Message] = []

        async def keep(message: Message) -> None:
            held.append(message)

        await self.app(scope, receive, keep)  # the function runs; its answer never arrives in time
        if kind == "error-after":
            await _answer(send, 500, b"injected fault after the function ran")
            return
        await asyncio.sleep(self.hold_s)
        for message in held:
            await send(message)


async def _body(receive: Receive) -> bytes:
    """The whole request body (read before choosing a fault, so the app gets it again from :func:`_replay`)."""
    chunks = []
    while True:
        message = await receive()
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that hands the app ``body`` first, then whatever the server says next (a disconnect)."""
    pending = [{"type": "http.request", "body": body, "more_body": False}]

    async def replay() -> Message:
        return pending.pop() if pending else await receive()

    return replay


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"text/plain"), (b"content-length", b"%d" % len(body))]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


def main(argv: list[str] | None = None) -> int:
    import uvicorn

    from statefun_faas.adapters.asgi import asgi_app
    from statefun_faas.cli.target import load_functions

    parser = argparse.ArgumentParser(prog="python -m tests.verifier.faulty")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--fault-log", type=Path, required=True)
    parser.add_argument("--functions", required=True, help="the registry to serve: FILE[:attr]")
    parser.add_argument("--hold", type=float, default=2.0, help="seconds a 'timeout' answer is held")
    options = parser.parse_args(argv)
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", options.port))
    listener.listen(1024)
    app: Any = FaultyApp(asgi_app(load_functions(options.functions), tokens=()), options.fault_log, options.hold)
    print(f"faulty function server on port {options.port}", flush=True)
    config = uvicorn.Config(app, lifespan="off", access_log=False, log_level="warning")
    uvicorn.Server(config).run(sockets=[listener])
    return 0


if __name__ == "__main__":
    sys.exit(main())
