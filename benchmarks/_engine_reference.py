"""The reference function tier of benchmarks/engine.py: apache-flink-statefun 3.3.0 behind aiohttp, served as
its users serve it (``RequestReplyHandler.handle_async`` in an aiohttp POST route), in the reference's own venv.

``python _engine_reference.py FUNCTIONS_FILE`` binds a free loopback port, prints it on stdout, then serves
the file's ``functions`` (written against ``statefun_faas``; the reference ``statefun`` package stands in).
"""

from __future__ import annotations

import importlib
import importlib.util
import socket
import sys
from typing import Any

from aiohttp import web


def load(path: str) -> Any:
    statefun = importlib.import_module("statefun")
    sys.modules["statefun_faas"] = statefun  # the functions file imports the reference under our name
    spec = importlib.util.spec_from_file_location("engine_functions", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load functions from {path}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return statefun.RequestReplyHandler(module.functions)


def main() -> None:
    handler = load(sys.argv[1])

    async def serve(request: web.Request) -> web.Response:
        body = await handler.handle_async(await request.read())
        return web.Response(body=body, content_type="application/octet-stream")

    app = web.Application()
    app.add_routes([web.post("/{path:.*}", serve)])
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    print(listener.getsockname()[1], flush=True)
    web.run_app(app, sock=listener, print=None)


if __name__ == "__main__":
    main()
