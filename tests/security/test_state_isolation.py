"""State never crosses addresses in the handler.

A response mutates only the states its target declares, with their declared types, whatever
other states the request carries; a function can not read a state it did not declare; and
requests for many addresses served at once (threads, and interleaved coroutines on one event
loop) each see and change only their own state.
"""

from __future__ import annotations

import asyncio
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest
from hypothesis import given
from hypothesis import strategies as st

from statefun_faas import (
    Context,
    IntType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StringType,
    Type,
    ValueSpec,
    _wire,
    egress_message_builder,
)
from statefun_faas.errors import FunctionInvocationError
from statefun_faas.functions import FunctionCallable
from tests.builders import Request, decode, typed
from tests.fuzz.profiles import fuzz

#: Two functions whose state names overlap, with different types for the shared name.
SPECS: dict[str, dict[str, Type[Any]]] = {
    "iso/a": {"x": IntType, "shared": StringType},
    "iso/b": {"y": IntType, "shared": IntType},
}
ALL_NAMES = sorted({name for specs in SPECS.values() for name in specs} | {"stranger"})


def _reader(context: Context, message: Message) -> None:
    """Reads the state the message names, reports it with the address, and bumps its counter."""
    name = message.as_string() or ""
    value = getattr(context.storage, name)  # an undeclared name raises AttributeError
    context.send_egress(egress_message_builder("iso/out", f"{context.address.id}:{name}={value}", StringType))
    counter = "x" if context.address.typename == "iso/a" else "y"
    setattr(context.storage, counter, (getattr(context.storage, counter) or 0) + 1)


async def _slow_reader(context: Context, message: Message) -> None:
    counter = "x" if context.address.typename == "iso/a" else "y"
    before = getattr(context.storage, counter) or 0
    await asyncio.sleep(0)  # every other coroutine runs here
    await asyncio.sleep(0)
    _reader(context, message)
    assert getattr(context.storage, counter) == before + 1


def registry(reader: FunctionCallable) -> StatefulFunctions:
    functions = StatefulFunctions()
    for typename, specs in SPECS.items():
        functions.register(typename, reader, [ValueSpec(name, kind) for name, kind in specs.items()])
    return functions


HANDLER = RequestReplyHandler(registry(_reader))
ASYNC_HANDLER = RequestReplyHandler(registry(_slow_reader))

#: (typename, id, states by name, the state name the message asks to read)
Req = tuple[str, str, dict[str, object], str]
values: dict[Type[Any], st.SearchStrategy[Any]] = {IntType: st.integers(0, 1000), StringType: st.text(max_size=10)}


@st.composite
def requests(draw: st.DrawFn, typename: str | None = None) -> Req:
    """A request for one address carrying its own states and, often, other functions' states too."""
    typename = typename or draw(st.sampled_from(sorted(SPECS)))
    id_ = draw(st.text(min_size=1, max_size=8))
    states: dict[str, object] = {name: draw(values[kind]) for name, kind in SPECS[typename].items()}
    for name in draw(st.lists(st.sampled_from(ALL_NAMES), max_size=3)):
        states.setdefault(name, draw(st.integers(0, 9)))  # a foreign state: an int, whatever its name
    return typename, id_, states, draw(st.sampled_from(ALL_NAMES))


def build(typename: str, id_: str, states: dict[str, object], read: str) -> bytes:
    request = Request(typename, id_)
    for name, value in states.items():
        kind = SPECS[typename].get(name, IntType)
        request.state(name, typed(kind, value))
    return request.message(typed(StringType, read)).bytes()


def check_own(typename: str, id_: str, states: dict[str, object], read: str, reply: bytes) -> None:
    result = decode(reply).invocation_result
    counter = "x" if typename == "iso/a" else "y"
    modify = _wire.FromFunction.PersistedValueMutation.MutationType.MODIFY
    assert [(m.state_name, m.mutation_type) for m in result.state_mutations] == [(counter, modify)]
    assert result.state_mutations[0].state_value == typed(IntType, cast(int, states[counter]) + 1)
    (egress,) = result.outgoing_egresses
    assert egress.argument == typed(StringType, f"{id_}:{read}={states[read]}")


@fuzz
@given(requests())
def test_a_response_touches_only_the_targets_declared_states(request: Req) -> None:
    typename, id_, states, read = request
    body = build(typename, id_, states, read)
    if read not in SPECS[typename]:
        with pytest.raises(FunctionInvocationError) as raised:  # the state is in the request, yet unreadable
            HANDLER.handle_sync(body)
        assert isinstance(raised.value.original, AttributeError)
        return
    check_own(typename, id_, states, read, HANDLER.handle_sync(body))


def _reads_its_own(request: Req) -> bool:
    return request[3] in SPECS[request[0]]


own_reads = st.sampled_from(sorted(SPECS)).flatmap(lambda typename: requests(typename).filter(_reads_its_own))


@fuzz
@given(st.lists(own_reads, min_size=2, max_size=24))
def test_concurrent_requests_see_only_their_own_state(batch: list[Req]) -> None:
    bodies = [build(*request) for request in batch]
    with ThreadPoolExecutor(max_workers=8) as pool:
        threaded = list(pool.map(HANDLER.handle_sync, bodies))
    for request, reply in zip(batch, threaded, strict=True):
        check_own(*request, reply)

    async def interleaved() -> list[bytes]:
        return list(await asyncio.gather(*(ASYNC_HANDLER.handle_async(body) for body in bodies)))

    for request, reply in zip(batch, asyncio.run(interleaved()), strict=True):
        check_own(*request, reply)
