"""The runtime against real function servers over HTTP on loopback: delivery, retries, dead letters, routing."""

from __future__ import annotations

import asyncio
import json
import socket
import subprocess
from pathlib import Path

import aiohttp
import pytest

from statefun_faas import _wire
from tests.runtime import processes
from tests.runtime.apps import functions
from tests.runtime.processes import RuntimeProcess, cli
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, delay, endpoint, put, raw, running, status, take


def timeouts(call: str, others: str) -> str:
    return (
        "  transport:\n    type: io.statefun.transports.v1/okhttp\n"
        f"    timeouts: {{call: {call}, connect: {others}, read: {others}, write: {others}}}\n"
    )


FAST = timeouts("3s", "300ms")


async def _flow(tmp_path: Path, server: FunctionServer, expected: int = 3) -> tuple[list[str], list[str]]:
    """Send a, b (one dead letter candidate) c to test/counter/k; return the counts and the dead-letter reasons."""
    async with server.serving():
        url = f"http://127.0.0.1:{server.port}/statefun"
        async with running(tmp_path, endpoint("test/*", url, FAST) + PLAYGROUND_IO) as runtime:
            ports = runtime.ports
            async with aiohttp.ClientSession() as session:
                for text in ("a", "b", "c"):
                    assert await put(session, ports["ingress"], "test/counter/k", text) == 200
                    await runtime.router.quiescent()
                counts = await take(session, ports["egress"], "counts", expected)
            reasons = [letter.reason for letter in runtime.store.dead_letters()]
    return counts, reasons


def test_messages_flow_over_http_with_state(tmp_path: Path) -> None:
    counts, reasons = asyncio.run(_flow(tmp_path, FunctionServer(functions)))
    assert counts == ["k:1:a:-", "k:2:b:-", "k:3:c:-"]
    assert reasons == []


def test_5xx_and_timeouts_are_retried(tmp_path: Path) -> None:
    server = FunctionServer(functions, faults=[status(503), delay(0.6), status(500)])
    counts, reasons = asyncio.run(_flow(tmp_path, server))
    assert counts == ["k:1:a:-", "k:2:b:-", "k:3:c:-"]
    assert reasons == []


def test_4xx_dead_letters_the_batch_and_the_address_continues(tmp_path: Path) -> None:
    # request 1: a -> incomplete context; request 2: a with state -> 404.
    server = FunctionServer(functions, faults=[])
    server.faults = [status(404, b"no such function")]
    counts, reasons = asyncio.run(_flow(tmp_path, server, expected=2))
    assert counts == ["k:1:b:-", "k:2:c:-"]
    assert len(reasons) == 1
    assert "HTTP 404: no such function" in reasons[0]


def test_exhausted_budget_dead_letters(tmp_path: Path) -> None:
    server = FunctionServer(functions, faults=[status(503)] * 200)
    budget = timeouts("300ms", "100ms")

    async def go() -> list[str]:
        async with server.serving():
            url = f"http://127.0.0.1:{server.port}/statefun"
            async with running(tmp_path, endpoint("test/*", url, budget) + PLAYGROUND_IO) as runtime:
                async with aiohttp.ClientSession() as session:
                    await put(session, runtime.ports["ingress"], "test/counter/k", "a")
                await runtime.router.quiescent()
                assert runtime.router.counters.retries > 2
                return [letter.reason for letter in runtime.store.dead_letters()]

    [reason] = asyncio.run(go())
    assert "HTTP 503" in reason
    assert "gave up after" in reason


def test_protocol_violations_and_wrong_content_type_dead_letter(tmp_path: Path) -> None:
    unregistered = _wire.FromFunction()
    mutation = unregistered.invocation_result.state_mutations.add(state_name="nope", mutation_type=1)
    mutation.state_value.typename = "io.statefun.types/int"
    server = FunctionServer(functions)
    server.faults = [raw(unregistered.SerializeToString()), raw(b"\x0a\x00", "application/octet-stream; charset=x")]
    counts, reasons = asyncio.run(_flow(tmp_path, server, expected=1))
    assert counts == ["k:1:c:-"]
    assert "not registered" in reasons[0]
    assert "Content-Type" in reasons[1]


def test_exact_function_type_beats_namespace_and_templates_keep_query_strings(tmp_path: Path) -> None:
    wildcard, exact = FunctionServer(functions), FunctionServer(functions)

    async def go() -> list[str]:
        async with wildcard.serving(), exact.serving():
            module = endpoint("test/*", f"http://127.0.0.1:{wildcard.port}/{{function.name}}?token=abc")
            module += endpoint("test/counter", f"http://127.0.0.1:{exact.port}/exact/{{function.name}}")
            async with running(tmp_path, module + PLAYGROUND_IO) as runtime, aiohttp.ClientSession() as session:
                await put(session, runtime.ports["ingress"], "test/forwarder/f", "hi")
                return await take(session, runtime.ports["egress"], "counts", 1)

    assert asyncio.run(go()) == ["f:1:hi:test/forwarder/f"]
    assert set(wildcard.paths) == {"/forwarder?token=abc"}
    assert set(exact.paths) == {"/exact/counter"}


def test_playground_ports_answer_like_the_playground(tmp_path: Path) -> None:
    async def go() -> list[tuple[int, str]]:
        answers = []
        async with running(tmp_path, PLAYGROUND_IO) as runtime, aiohttp.ClientSession() as session:
            ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
            for method, port, path in [
                ("GET", egress, "counts"),  # declared, empty
                ("GET", egress, "undeclared"),
                ("POST", egress, "counts"),
                ("POST", ingress, "only/two"),
                ("POST", ingress, "a/b/c/d"),
                ("DELETE", ingress, "test/nobody/x"),  # any method; stored, then dead-lettered
            ]:
                async with session.request(method, f"http://127.0.0.1:{port}/{path}", data=b"x") as response:
                    answers.append((response.status, await response.text()))
            await runtime.router.quiescent()
            [letter] = runtime.store.dead_letters()
            assert letter.envelope.argument.typename == "io.statefun.types/string"
            assert letter.envelope.argument.data == b"x"
        return answers

    answers = asyncio.run(go())
    assert [status for status, _ in answers] == [404, 405, 405, 404, 404, 200]
    assert answers[5][1] == ""


KAFKA_IO = """
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: test/in
  address: 127.0.0.1:9
  topics:
    - topic: names
      valueType: test/text
      targets: [test/kafka]
---
kind: io.statefun.kafka.v1/egress
spec:
  id: test/out
  address: 127.0.0.1:9
---
kind: io.statefun.kinesis.v1/ingress
spec:
  id: test/kin
  streams:
    - stream: loud
      valueType: test/text
      targets: [test/kinesis]
---
kind: io.statefun.kinesis.v1/egress
spec:
  id: test/kout
"""


def test_kafka_and_kinesis_kinds_run_on_local_topics(tmp_path: Path) -> None:
    server = FunctionServer(functions)

    async def go() -> tuple[list[int], list[str]]:
        async with server.serving():
            module = endpoint("test/*", f"http://127.0.0.1:{server.port}/statefun") + KAFKA_IO
            async with (
                running(tmp_path, module, local_io_port=0, local_io=True) as runtime,
                aiohttp.ClientSession() as session,
            ):
                port = runtime.ports["local-io"]
                statuses = []
                for path in ("names/bob", "loud/ann", "unknown/x"):
                    async with session.post(f"http://127.0.0.1:{port}/{path}", data=b"hello") as response:
                        statuses.append(response.status)
                return statuses, await take(session, port, "results", 1) + await take(session, port, "shouts", 1)

    assert asyncio.run(go()) == ([200, 200, 404], ["bob:hello", "ann:hello"])


def test_egress_override_writes_json_lines_and_keeps_the_topic_readable(tmp_path: Path) -> None:
    sink = tmp_path / "out.jsonl"
    override = f"io.statefun.playground/egress=jsonl:{sink}"

    async def go() -> list[str]:
        runtime_ = running(tmp_path, PLAYGROUND_IO, functions, egress_overrides=[override])
        async with runtime_ as runtime, aiohttp.ClientSession() as session:
            await put(session, runtime.ports["ingress"], "test/counter/j", "x")
            return await take(session, runtime.ports["egress"], "counts", 1)

    assert asyncio.run(go()) == ["j:1:x:-"]
    [line] = sink.read_text().splitlines()
    assert json.loads(line) == {
        "egress": "io.statefun.playground/egress",
        "topic": "counts",
        "typename": "io.statefun.playground/EgressRecord",
        "payload": "j:1:x:-",
    }


def test_a_port_in_use_is_named_and_nothing_is_left_open(tmp_path: Path) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        module = f"kind: io.statefun.playground.v1/ingress\nspec:\n  port: {port}\n"

        async def go() -> None:
            async with running(tmp_path, module):
                pass

        with pytest.raises(OSError, match=f"can not listen on 127.0.0.1:{port}"):
            asyncio.run(go())


APPS = Path(__file__).resolve().parents[1] / "apps.py"


def curl(*args: str) -> str:
    """A test/text PUT by curl (which percent-encodes a path's non-ASCII characters as UTF-8)."""
    command = ["curl", "-s", "-X", "PUT", "-H", "Content-Type: application/vnd.test/text", *args]
    return subprocess.run(command, capture_output=True, text=True, check=True, timeout=10).stdout


def test_ids_sent_raw_or_percent_encoded_reach_one_address_and_the_port_limits_apply(tmp_path: Path) -> None:
    state = str(tmp_path / "state")
    runtime = RuntimeProcess.start(
        tmp_path / "dev.log",
        *("dev", str(APPS), "--state", state, "--ingress-port", "0", "--egress-port", "0"),
        *("--header-timeout", "0.5", "--idle-timeout", "1", "--max-connections", "2"),
    )
    ingress = runtime.ports["ingress"]
    try:
        with socket.create_connection(("127.0.0.1", ingress), timeout=10) as client:  # raw UTF-8, as older curls send
            client.sendall(
                "PUT /test/counter/café HTTP/1.1\r\nContent-Type: application/vnd.test/text\r\n"
                "Content-Length: 1\r\nConnection: close\r\n\r\nx".encode()
            )
            assert client.recv(1024).startswith(b"HTTP/1.1 200 OK\r\n")
        assert curl("-w", "%{http_code}", "-d", "x", f"127.0.0.1:{ingress}/test/counter/café") == "200"
        assert curl("-w", "%{http_code}", "--http2", "-d", "y", f"127.0.0.1:{ingress}/test/counter/café") == "200"
        counts = ["café:1:x:-", "café:2:x:-", "café:3:y:-"]  # --http2 offers an upgrade: ignored, the body kept
        assert processes.take(runtime.ports["egress"], "counts", 3) == counts
        refused = curl("-w", " %{http_code}", "-d", "x", f"127.0.0.1:{ingress}/test/counter/caf%E9")
        assert refused == (
            "the request path '/test/counter/caf%E9' is not UTF-8 (byte 0xe9); "
            "send the path's text as UTF-8, percent-encoded or not\n 400"
        )
        # connections the server has not yet seen go may still count: try until two silent ones fill the cap
        assert any(third_is_refused_and_silent_ones_closed(ingress) for _ in range(20))
        assert curl("-w", "%{http_code}", "-d", "y", f"127.0.0.1:{ingress}/test/counter/b") == "200"
    finally:
        assert runtime.stop() == 0


def third_is_refused_and_silent_ones_closed(port: int) -> bool:
    """With --max-connections 2 and --header-timeout 0.5: two connections that send nothing are let in and
    closed after the timeout, a third is answered 503 at once."""
    with (
        socket.create_connection(("127.0.0.1", port), timeout=5) as one,
        socket.create_connection(("127.0.0.1", port), timeout=5) as two,
        socket.create_connection(("127.0.0.1", port), timeout=5) as three,
    ):
        refused = three.recv(1024).startswith(b"HTTP/1.1 503 Service Unavailable\r\n")
        return refused and one.recv(1024) == b"" and two.recv(1024) == b""


def test_limits_that_are_not_positive_stop_the_runtime_with_the_flag_named(tmp_path: Path) -> None:
    module = tmp_path / "module.yaml"
    module.write_text(PLAYGROUND_IO)
    result = cli("run", "--module", str(module), "--state", str(tmp_path / "state"), "--max-connections", "0")
    assert (result.returncode, result.stderr) == (
        2,
        "statefun-faas: --max-connections must be a positive number, got 0\n",
    )
