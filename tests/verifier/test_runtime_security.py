"""Runtime-side security checks: the hosts of module.yaml's endpoints are the only ones the runtime
calls, whatever function types a function sends to; and state never crosses addresses in the store.

Everything is real: the runtime in-process with its SQLite store, functions behind an HTTP server on
loopback, and a sentinel listener that counts every TCP connection it gets."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import aiohttp
import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas import (
    Context,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    make_json_type,
    message_builder,
)
from statefun_faas.moduleyaml.model import ENDPOINTS_V2, OKHTTP_TIMEOUTS, OKHTTP_TRANSPORT, Endpoint, Module
from statefun_faas.moduleyaml.reader import ModuleError
from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.http.client import Target
from tests.fuzz.profiles import fuzz
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running

EGRESS = "io.statefun.playground/egress"
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")
FAST = (
    "  transport:\n    type: io.statefun.transports.v1/okhttp\n"
    "    timeouts: {call: 2s, connect: 300ms, read: 1s, write: 1s}\n"
)
KEEPERS = ("sec/keeper", "sec/keeper2")

functions = StatefulFunctions()


@functions.bind("sec/router")
def router(context: Context, message: Message) -> None:
    """Sends "hi" to every [typename, id] of its JSON message."""
    for typename, id_ in json.loads(message.raw_value() or b"[]"):
        context.send(message_builder(typename, id_, str_value="hi"))


def keeper(context: Context, message: Message) -> None:
    """Egresses [own address, what its state held], then stores its own address."""
    mine = f"{context.address.typename}|{context.address.id}"
    record = {"topic": "counts", "payload": json.dumps([mine, context.storage.owner])}
    context.storage.owner = mine
    context.send_egress(egress_message_builder(EGRESS, record, EgressRecordType))


for _typename in KEEPERS:
    functions.bind(_typename, specs=[ValueSpec("owner", StringType)])(keeper)


class Sentinel:
    """A listener no request may reach; counts the TCP connections it accepts."""

    def __init__(self) -> None:
        self.connections = 0
        self.port = 0

    async def __aenter__(self) -> Sentinel:
        self.server = await asyncio.start_server(self._accepted, "127.0.0.1", 0)
        self.port = self.server.sockets[0].getsockname()[1]
        return self

    async def __aexit__(self, *_: object) -> None:
        self.server.close()
        await self.server.wait_closed()

    async def _accepted(self, _: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        writer.close()


async def _route(runtime: Runtime, targets: list[list[str]]) -> None:
    async with aiohttp.ClientSession() as session:
        status = await put(session, runtime.ports["ingress"], "sec/router/r", json.dumps(targets))
        assert status == 200
    await asyncio.sleep(0.05)
    await runtime.router.quiescent()


def _crafted(port: int) -> list[str]:
    """Function names that try to move a templated URL to another host."""
    return [
        f"127.0.0.1:{port}",
        f"127.0.0.1:{port}#",
        f"x@127.0.0.1:{port}#",
        f"127.0.0.1:{port}?",
        f"x@127.0.0.1:{port}",
        f"%2F%2F127.0.0.1:{port}",
        "..",
        "x\\@127.0.0.1",
    ]


async def _only_declared_hosts(tmp_path: Path, template: str) -> tuple[int, int, list[str]]:
    """Route to undeclared and crafted function types; the sentinel's connections and the dead letters."""
    async with Sentinel() as watcher, FunctionServer(functions).serving() as server:
        declared = endpoint("sec/router", f"http://127.0.0.1:{server.port}/")
        wildcard = endpoint("sec/*", template.format(port=server.port), FAST)
        async with running(tmp_path, declared + wildcard + PLAYGROUND_IO) as runtime:
            targets = [["other/fn", "x"], [f"127.0.0.1:{watcher.port}/fn", "x"]]
            targets += [[f"sec/{name}", "x"] for name in _crafted(watcher.port)]
            await _route(runtime, targets)
            reasons = [letter.reason for letter in runtime.store.dead_letters()]
            letters = len(runtime.store.dead_letters())
        return watcher.connections, letters - len(targets), reasons


def test_a_function_type_in_the_url_path_never_reaches_another_host(tmp_path: Path) -> None:
    connections, unaccounted, reasons = asyncio.run(
        _only_declared_hosts(tmp_path, "http://127.0.0.1:{port}/{{function.name}}")
    )
    assert connections == 0
    assert unaccounted == 0  # every message is a dead letter: no endpoint, or the server knows no such function
    assert any("no endpoint in module.yaml serves function type other/fn" in reason for reason in reasons)


def test_a_function_type_in_the_host_is_refused_when_the_module_loads(tmp_path: Path) -> None:
    # {function.name} in the host (as in Kubernetes service names) let whoever sends a message pick the host the
    # runtime connects to (a function named 127.0.0.2); such a module no longer loads
    module = tmp_path / "module.yaml"
    module.write_text(endpoint("sec/*", "http://{function.name}.invalid:8000/") + PLAYGROUND_IO)
    with pytest.raises(
        ModuleError, match=r"module.yaml:\d+: spec.urlPathTemplate: \{function.name\} is in the URL's host"
    ):
        Runtime([str(module)], functions, Options(state_dir=tmp_path / "state"))


# with a dotless i, a Kelvin sign and a fullwidth colon, which Unicode normalization may turn into ASCII
URL_SIGNIFICANT = ":/?#[]@!$&'()*+,;=%\\ .-_~\r\n\t\x00" + "09az\u00e4\u0131\u212a\uff1a"
TEMPLATES = {
    "path": ("http://127.0.0.1:8000/fn/{function.name}", "127.0.0.1"),
    "host": ("http://{function.name}.svc.local:8000/", ".svc.local"),
}


@fuzz
@given(
    name=st.text(alphabet=URL_SIGNIFICANT, max_size=40) | st.text(max_size=40), where=st.sampled_from(list(TEMPLATES))
)
def test_no_function_name_moves_a_templated_url_to_another_host(name: str, where: str) -> None:
    template, host = TEMPLATES[where]
    wildcard = Endpoint("sec/*", template, 1000, OKHTTP_TIMEOUTS, OKHTTP_TRANSPORT, ENDPOINTS_V2)
    module = Module(endpoints=(wildcard,))
    endpoint = module.endpoint_for(f"sec/{name}")
    if endpoint is None:
        return  # a dead letter: nothing is called
    try:
        target = Target.of(endpoint.url_for(f"sec/{name}"), {})  # how the runtime's HTTP client reads it
    except ValueError:
        return  # not callable at all: a dead letter
    assert target.port == 8000
    assert target.host == host if where == "path" else target.host.endswith(host)
    assert b"Authorization" not in target.head  # no userinfo smuggled in


IDS = ["a", "b", "A", "a/b", "a b", "ä", "a%2Fb", "'; DROP TABLE state; --", "x" * 2000, "a|b", "b|a", "0", "00"]


async def _isolation(tmp_path: Path) -> tuple[list[list[str | None]], set[tuple[str, str]]]:
    async with FunctionServer(functions).serving() as server:
        url = f"http://127.0.0.1:{server.port}/{{function.name}}"
        async with running(tmp_path, endpoint("sec/*", url) + PLAYGROUND_IO) as runtime:
            targets = [[typename, id_] for typename in KEEPERS for id_ in IDS]
            for _ in range(2):
                await _route(runtime, targets)
            seen = [json.loads(record.payload) for record in runtime.store.egress_records()]
            rows = runtime.store.db.execute("SELECT typename, id FROM state").fetchall()
    return seen, {(typename, id_) for typename, id_ in rows}


def test_state_never_crosses_addresses(tmp_path: Path) -> None:
    seen, stored = asyncio.run(_isolation(tmp_path))
    addresses = [f"{typename}|{id_}" for typename in KEEPERS for id_ in IDS]
    assert [mine for mine, _ in seen] == addresses + addresses
    assert [held for _, held in seen[: len(addresses)]] == [None] * len(addresses)  # nothing before the first write
    assert [held for _, held in seen[len(addresses) :]] == addresses  # then only its own value
    assert stored == {(typename, id_) for typename in KEEPERS for id_ in IDS}


async def _unusable_host(tmp_path: Path) -> list[str]:
    async with FunctionServer(functions).serving() as server:
        module = endpoint("sec/router", f"http://127.0.0.1:{server.port}/") + endpoint("sec/*", "http://a..b:1/")
        async with running(tmp_path, module + PLAYGROUND_IO) as runtime:
            await _route(runtime, [["sec/keeper", "1"], ["sec/keeper", "1"], ["sec/keeper", "2"]])
            return [letter.reason for letter in runtime.store.dead_letters()]


def test_an_unusable_endpoint_host_dead_letters_at_once_instead_of_stalling_the_address(tmp_path: Path) -> None:
    # an invalid host name raised UnicodeError out of the HTTP client, which left the address's messages
    # queued and the address stuck until the next restart
    reasons = asyncio.run(_unusable_host(tmp_path))
    assert len(reasons) == 3
    assert all(re.search(r"Unicode\w*Error", reason) for reason in reasons)  # UnicodeEncodeError on 3.13
    assert not any("gave up after" in reason for reason in reasons)  # deterministic: not retried
