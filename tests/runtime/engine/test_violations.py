"""Responses that break the protocol are never applied: their batch is dead-lettered with the reason,
and the address goes on with its next messages. A scripted function answers with crafted bytes."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from statefun_faas import _wire
from statefun_faas.runtime.engine.egress import PlaygroundEgress
from statefun_faas.runtime.engine.router import FunctionRoute, Router
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

FromFunction = _wire.FromFunction
TARGET = Address("test/fn", "x")


class Scripted:
    """Answers each request with the next scripted response; afterwards with an empty result."""

    def __init__(self, *responses: FromFunction) -> None:
        self.responses = list(responses)
        self.requests: list[_wire.ToFunction] = []

    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        self.requests.append(_wire.ToFunction.FromString(body))
        response = self.responses.pop(0) if self.responses else result(lambda _: None)
        return response.SerializeToString()


def result(build: Callable[[FromFunction.InvocationResponse], object]) -> FromFunction:
    response = FromFunction()
    response.invocation_result.SetInParent()
    build(response.invocation_result)
    return response


def incomplete(name: str, typename: str) -> FromFunction:
    response = FromFunction()
    response.incomplete_invocation_context.missing_values.add(state_name=name, type_typename=typename)
    return response


def run(*responses: FromFunction, messages: int = 2) -> tuple[Store, Scripted]:
    store, function = opened(Store(":memory:")), Scripted(*responses)
    egress = PlaygroundEgress(("declared",))
    router = Router(
        store, lambda _: FunctionRoute(function, max_batch=1), lambda e: egress if e.endswith("/egress") else None
    )

    async def go() -> None:
        router.submit([Envelope(TARGET, Value("test/text", f"m{i}".encode())) for i in range(messages)])
        await router.quiescent()

    asyncio.run(go())
    return store, function


def delayed(token: str = "", delay: int = 0, cancel: bool = False) -> FromFunction:
    def build(invocation: FromFunction.InvocationResponse) -> None:
        item = invocation.delayed_invocations.add(cancellation_token=token, is_cancellation_request=cancel)
        item.delay_in_ms = delay
        item.target.namespace, item.target.type, item.target.id = "test", "fn", "y"

    return result(build)


def egress(egress_id: str, record: bytes) -> FromFunction:
    def build(invocation: FromFunction.InvocationResponse) -> None:
        namespace, name = egress_id.split("/")
        item = invocation.outgoing_egresses.add(egress_namespace=namespace, egress_type=name)
        item.argument.typename, item.argument.has_value, item.argument.value = (
            "io.statefun.playground/EgressRecord", True, record,
        )  # fmt: skip

    return result(build)


def modify(name: str, typename: str) -> FromFunction:
    def build(invocation: FromFunction.InvocationResponse) -> None:
        mutation = invocation.state_mutations.add(state_name=name, mutation_type=1)
        mutation.state_value.typename, mutation.state_value.has_value = typename, True

    return result(build)


@pytest.mark.parametrize(
    ("responses", "reason"),
    [
        ((delayed(delay=-5),), "negative delay of -5 ms"),
        ((delayed(cancel=True),), "empty cancellation token"),
        ((delayed("t", 60_000), delayed("t", 60_000)), "cancellation token 't' is already pending"),
        ((egress("test/unknown", b"{}"),), "unknown egress 'test/unknown'"),
        ((egress("io.statefun.playground/egress", b'{"topic": "other", "payload": "p"}'),), "'other' is not declared"),
        ((egress("io.statefun.playground/egress", b"not json"),), "is not JSON"),
        ((modify("seen", "io.statefun.types/int"),), "'seen', which is not registered"),
        ((incomplete("seen", "io.statefun.types/int"), modify("seen", "io.statefun.types/long")), "registered with"),
        ((incomplete("seen", "io.statefun.types/int"), incomplete("seen", "io.statefun.types/long")), "can not change"),
        ((incomplete("seen", "io.statefun.types/int"), incomplete("seen", "io.statefun.types/int")), "every state"),
    ],
)
def test_violation_dead_letters_one_message_and_the_next_is_applied(
    responses: tuple[FromFunction, ...], reason: str
) -> None:
    store, function = run(*responses)
    letters = store.dead_letters()
    assert len(letters) == 1
    assert reason in letters[0].reason
    assert letters[0].envelope.target == TARGET
    assert store.inbox_size() == 0  # the second message went through (an empty result)
    assert function.requests[-1].invocation.invocations[0].argument.value == b"m1"


def test_registered_states_are_sent_on_every_request_absent_values_unset() -> None:
    registered = incomplete("seen", "io.statefun.types/int")
    store, function = run(registered, modify("seen", "io.statefun.types/int"), messages=2)
    first, retry, second = function.requests
    assert [s.state_name for s in first.invocation.state] == []
    assert [(s.state_name, s.HasField("state_value")) for s in retry.invocation.state] == [("seen", False)]
    [state] = second.invocation.state
    assert (state.state_value.typename, state.state_value.has_value, state.state_value.value) == (
        "io.statefun.types/int", True, b"",
    )  # fmt: skip
    assert store.dead_letters() == []
