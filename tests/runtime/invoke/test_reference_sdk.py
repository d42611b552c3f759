"""Functions written with apache-flink-statefun 3.3.0, served with aiohttp the way its users do (in
the reference's own virtual environment), work unchanged behind this runtime."""

from __future__ import annotations

import asyncio
import subprocess
from pathlib import Path

import aiohttp
import pytest

from tests.runtime.processes import free_port, wait_for_port
from tests.runtime.servers import PLAYGROUND_IO, endpoint, put, running, take
from tests.venvs import ensure_venv

pytestmark = [pytest.mark.reference, pytest.mark.slow]

REQUIREMENTS = ["apache-flink-statefun==3.3.0", "aiohttp>=3.8,<4"]

# The playground's Python greeter, shortened; only `statefun` and aiohttp, as its users write it.
SERVER = """
import sys
from aiohttp import web
from statefun import *

functions = StatefulFunctions()
GreetRequest = make_json_type("example/GreetRequest")
EgressRecord = make_json_type("io.statefun.playground/EgressRecord")

@functions.bind("example/person", specs=[ValueSpec("visits", IntType)])
async def person(context: Context, message: Message):
    request = message.as_type(GreetRequest)
    visits = (context.storage.visits or 0) + 1
    context.storage.visits = visits
    text = "Hello %s, visit %d" % (request["name"], visits)
    context.send_after(__import__("datetime").timedelta(milliseconds=50),
                       message_builder("example/person", context.address.id, value=request, value_type=GreetRequest),
                       cancellation_token="again-%d" % visits) if visits == 1 else None
    context.send_egress(egress_message_builder("io.statefun.playground/egress",
                                               {"topic": "greetings", "payload": text}, EgressRecord))

handler = RequestReplyHandler(functions)

async def serve(request):
    body = await handler.handle_async(await request.read())
    return web.Response(body=body, content_type="application/octet-stream")

app = web.Application()
app.add_routes([web.post("/statefun", serve)])
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None)
"""


def test_reference_sdk_functions_behind_the_runtime(tmp_path: Path) -> None:
    python = ensure_venv("reference-aiohttp", REQUIREMENTS)
    script = tmp_path / "reference_server.py"
    script.write_text(SERVER)
    port = free_port()
    server = subprocess.Popen([str(python), str(script), str(port)])
    try:
        wait_for_port(port)

        async def go() -> list[str]:
            module = endpoint("example/*", f"http://127.0.0.1:{port}/statefun") + PLAYGROUND_IO
            async with running(tmp_path, module) as runtime, aiohttp.ClientSession() as session:
                await put(
                    session, runtime.ports["ingress"], "example/person/Ann", '{"name": "Ann"}', "example/GreetRequest"
                )
                return await take(session, runtime.ports["egress"], "greetings", 2)

        greetings = asyncio.run(go())
    finally:
        server.terminate()
        server.wait(10)
    # the second visit is the reference SDK's own delayed message (with a cancellation token)
    assert greetings == ["Hello Ann, visit 1", "Hello Ann, visit 2"]
