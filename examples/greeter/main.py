"""The main job: the greeter end to end on the local runtime, printing the greetings it produced.

It serves the functions of functions.py over real HTTP on loopback (our ASGI adapter under uvicorn,
or our WSGI adapter under the standard library's wsgiref when uvicorn is not installed), starts the
runtime in-process with this folder's module.yaml (on free ports), sends greet requests through the
playground ingress, reads the greetings with ``GET /greetings`` and exits 0 when all arrived.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import sys
import tempfile
import threading
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import aiohttp

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from functions import functions  # noqa: E402 (the example's own module, next to this file)

from statefun_faas.runtime.app import Options, Runtime  # noqa: E402

VISITS = ["Alice", "Bob", "Alice", "Carol", "Alice"]
TIMEOUT_S = 15.0


@contextlib.asynccontextmanager
async def function_server() -> AsyncIterator[int]:
    """Serve the functions on a free loopback port; yields the port."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = int(sock.getsockname()[1])
    try:
        import uvicorn

        from statefun_faas.adapters.asgi import asgi_app
    except ImportError:
        with _wsgi_server(sock):
            yield port
        return
    server = uvicorn.Server(uvicorn.Config(asgi_app(functions), log_level="warning", lifespan="off"))
    task = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:
        await asyncio.sleep(0.01)
    try:
        yield port
    finally:
        server.should_exit = True
        await task


@contextlib.contextmanager
def _wsgi_server(sock: socket.socket) -> Iterator[None]:
    from wsgiref.simple_server import WSGIRequestHandler, WSGIServer

    from statefun_faas.adapters.wsgi import wsgi_app

    class Quiet(WSGIRequestHandler):
        def log_message(self, *args: object) -> None:
            pass

    server = WSGIServer(sock.getsockname(), Quiet, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.server_activate()
    server.set_app(wsgi_app(functions))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield
    finally:
        server.shutdown()


def local_module(folder: Path, function_port: int) -> Path:
    """module.yaml as written, with the functions' real port and free ingress/egress ports."""
    text = (HERE / "module.yaml").read_text()
    text = text.replace("http://127.0.0.1:8000", f"http://127.0.0.1:{function_port}")
    text = text.replace("port: 8090", "port: 0").replace("port: 8091", "port: 0")
    path = folder / "module.yaml"
    path.write_text(text)
    return path


async def greet(runtime: Runtime) -> list[str]:
    ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
    headers = {"Content-Type": "application/vnd.example/GreetRequest"}
    greetings: list[str] = []
    async with aiohttp.ClientSession() as session:
        for name in VISITS:
            body = json.dumps({"name": name})
            async with session.put(
                f"http://127.0.0.1:{ingress}/example/person/{name}", data=body, headers=headers
            ) as r:
                r.raise_for_status()
        deadline = asyncio.get_running_loop().time() + TIMEOUT_S
        while len(greetings) < len(VISITS) and asyncio.get_running_loop().time() < deadline:
            async with session.get(f"http://127.0.0.1:{egress}/greetings") as response:
                if response.status == 200:
                    greetings.append(await response.text())
                else:
                    await asyncio.sleep(0.02)
    return greetings


async def main() -> int:
    with tempfile.TemporaryDirectory(prefix="greeter-") as folder:
        async with function_server() as port:
            runtime = Runtime([str(local_module(Path(folder), port))], None, Options(state_dir=Path(folder) / "state"))
            await runtime.start()
            try:
                greetings = await greet(runtime)
            finally:
                await runtime.stop()
    for greeting in greetings:
        print(greeting)
    if len(greetings) < len(VISITS):
        print(f"error: {len(greetings)} of {len(VISITS)} greetings arrived within {TIMEOUT_S:g}s", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
