"""The Kafka binding's choice of broker or local topics, where no broker is involved.

Everything that needs a broker runs against a real one (KRaft, on loopback) in
tests/engine/test_kafka_binding.py: startup positions, restarts, egress records, partitions added
to a topic, a broker that goes away and comes back, a refused group commit. No stand-in broker is
left: a real one can be made to do all of that. What stays here needs no broker at all: an address
nobody listens on, and ``--local-io``, which must not even connect to the address (a plain TCP
listener counts the connections, which a broker could not show)."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import aiohttp
import pytest

from statefun_faas import Context, Message, StatefulFunctions, kafka_egress_message
from statefun_faas.runtime.defaults import WARNING_HEADER
from statefun_faas.runtime.io import kafka
from tests.runtime.processes import free_port
from tests.runtime.servers import running, take

functions = StatefulFunctions()


@functions.bind("test/shout")
def shout(context: Context, message: Message) -> None:
    """Writes ``<id>:<value>`` keyed by its id to topic ``results`` of the Kafka egress ``test/out``."""
    text = (message.raw_value() or b"").decode()
    record = kafka_egress_message("test/out", "results", f"{context.address.id}:{text}", key=context.address.id)
    context.send_egress(record)


def module(address: str) -> str:
    return f"""
kind: io.statefun.kafka.v1/ingress
spec:
  id: test/in
  address: {address}
  consumerGroupId: shouters
  startupPosition: {{type: earliest}}
  topics:
    - topic: loud
      valueType: test/text
      targets: [test/shout]
---
kind: io.statefun.kafka.v1/egress
spec:
  id: test/out
  address: {address}
"""


async def send_and_take(port: int) -> list[str]:
    """Send ``hello`` to id ``ann`` through the local topic ``loud``; the record egress topic ``results`` got."""
    async with aiohttp.ClientSession() as session:
        async with session.post(f"http://127.0.0.1:{port}/loud/ann", data=b"hello") as response:
            assert response.status == 200
        return await take(session, port, "results", 1)


def test_a_local_topic_routed_to_a_type_nothing_serves_says_so(tmp_path: Path) -> None:
    """As the playground ingress does: 200 once stored (the contract), with the warning header naming the type."""
    routed = module(f"127.0.0.1:{free_port()}").replace("targets: [test/shout]", "targets: [test/shout, test/nosuch]")

    async def go() -> tuple[int, str | None]:
        async with running(tmp_path, routed, functions, local_io_port=0) as runtime, aiohttp.ClientSession() as session:
            url = f"http://127.0.0.1:{runtime.ports['local-io']}/loud/ann"
            async with session.post(url, data=b"hello") as response:
                return response.status, response.headers.get(WARNING_HEADER)

    assert asyncio.run(go()) == (
        200,
        "no endpoint serves function type test/nosuch; the message goes to the dead letters",
    )


def test_an_unreachable_broker_falls_back_to_local_topics(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    address = f"127.0.0.1:{free_port()}"

    async def go() -> list[str]:
        async with running(tmp_path, module(address), functions, local_io_port=0) as runtime:
            return await send_and_take(runtime.ports["local-io"])

    assert asyncio.run(go()) == ["ann:hello"]
    assert f"Kafka ingress test/in on local topics ({address}: " in caplog.text
    assert f"Kafka egress test/out on local topics ({address}: " in caplog.text


def test_local_io_never_connects_to_the_address(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """With ``--local-io`` the Kafka kinds stay on local topics without a connection to their address, even
    one that accepts connections (which the probe, run without ``--local-io``, does connect to)."""
    caplog.set_level(logging.INFO, "statefun_faas.runtime")

    async def go() -> tuple[list[str], int, str | None, int]:
        accepted = 0

        def count(_: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            nonlocal accepted
            accepted += 1
            writer.close()

        server = await asyncio.start_server(count, "127.0.0.1", 0)
        address = f"127.0.0.1:{server.sockets[0].getsockname()[1]}"
        async with server:
            async with running(tmp_path, module(address), functions, local_io=True, local_io_port=0) as runtime:
                found = await send_and_take(runtime.ports["local-io"])
            with_local_io = accepted
            probed = await kafka.probe({"address": address})
            await asyncio.sleep(0.1)
            return found, with_local_io, probed, accepted

    found, with_local_io, probed, accepted = asyncio.run(go())
    assert found == ["ann:hello"]
    assert with_local_io == 0
    assert (probed, accepted) == (None, 1)  # the control: the same address does take a probe's connection
    assert "Kafka ingress test/in on local topics (--local-io)" in caplog.text
