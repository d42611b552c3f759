"""The runtime benchmark's greeter on Restate: a virtual object keyed by id, run by benchmarks/_restate.py.

    python restate_greeter.py PORT hypercorn|uvicorn

It runs in its own venv (restate-sdk from PyPI), not in ours. ``greeter/<id>/greet`` takes the message (the
sender's stamp, a JSON number), counts visits in the object's state "visits" and returns the message: the
record that the StateFun greeter writes to its egress; ``greeter/<id>/record`` does the same and reports the
message to the UDP port GREETER_RECORDS_PORT instead (for one-way sends). hypercorn serves HTTP/2
(bidirectional protocol, as Restate's Python docs run it); uvicorn (with httptools) serves HTTP/1.1, the
request-response protocol, as the StateFun function server of benchmarks/runtime.py runs.
"""

import asyncio
import os
import socket
import sys
from typing import Any

import restate  # type: ignore[import-not-found, unused-ignore]

greeter: Any = restate.VirtualObject("greeter")


async def greet(context: Any, message: int) -> int:
    visits = await context.get("visits") or 0
    context.set("visits", visits + 1)
    return message


async def record(context: Any, message: int) -> None:
    """``greet`` for one-way sends: the message goes to the benchmark as a UDP datagram, the egress stand-in."""
    await greet(context, message)
    records.sendto(b"%d" % message, ("127.0.0.1", int(os.environ["GREETER_RECORDS_PORT"])))


records = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
greeter.handler()(greet)
greeter.handler()(record)


def serve(port: int, server: str) -> None:
    if server == "uvicorn":
        import uvicorn

        app = restate.app(services=[greeter], protocol="request_response")
        uvicorn.run(app, host="127.0.0.1", port=port, http="httptools", log_level="warning", lifespan="off")
        return
    from hypercorn.asyncio import serve as hypercorn_serve  # type: ignore[import-not-found, unused-ignore]
    from hypercorn.config import Config  # type: ignore[import-not-found, unused-ignore]

    config = Config()
    config.bind = [f"127.0.0.1:{port}"]
    config.loglevel = "WARNING"
    asyncio.run(hypercorn_serve(restate.app(services=[greeter]), config))


if __name__ == "__main__":
    serve(int(sys.argv[1]), sys.argv[2])
