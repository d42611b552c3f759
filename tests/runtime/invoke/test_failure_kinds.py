"""How each invoker names a failure for the failure policy: the HTTP invoker by status, the in-process one by
the error the handler raised, matching the status the HTTP edge answers for it (one policy for run and dev)."""

from __future__ import annotations

import asyncio

import pytest

from statefun_faas import Context, Message, StatefulFunctions
from statefun_faas.runtime.engine import protocol
from statefun_faas.runtime.engine.failures import Failure, InvocationError
from statefun_faas.runtime.invoke.inprocess import InProcessInvoker
from statefun_faas.runtime.invoke.remote import failure_of
from statefun_faas.runtime.records import Address, Queued, Value


@pytest.mark.parametrize(
    ("status", "failure"),
    [
        (500, Failure.RAISED),  # what the SDKs answer when user code raised
        *((status, Failure.TRANSIENT) for status in (501, 502, 503, 504, 599, 408, 409, 420, 429, 499)),
        *((status, Failure.REFUSED) for status in (400, 401, 403, 404, 405, 413, 415, 422)),
        *((status, Failure.MISCONFIGURED) for status in (100, 301, 302, 307, 308)),  # redirects are not followed
    ],
)
def test_statuses(status: int, failure: Failure) -> None:
    assert failure_of(status) is failure


registry = StatefulFunctions()


@registry.bind("test/raiser")
def raiser(context: Context, message: Message) -> None:
    raise KeyError("missing")


@registry.bind("test/hanger")
async def hanger(context: Context, message: Message) -> None:
    await asyncio.sleep(60)


def call(typename: str, batch: int = 1, budget: float = 5.0) -> InvocationError:
    address = Address(typename, "x")
    queued = [Queued(n, None, Value("test/text", b"m")) for n in range(batch)]
    body = protocol.request(address, queued, {}, {})
    with pytest.raises(InvocationError) as raised:
        asyncio.run(InProcessInvoker(registry)(address, body, budget))
    return raised.value


def test_user_code_raising_in_process_is_the_500_of_the_sdk_with_its_traceback_kept() -> None:
    error = call("test/raiser")
    assert error.failure is Failure.RAISED
    assert error.reason == "function 'test/raiser' with id 'x' raised KeyError: 'missing'"
    assert isinstance(error.cause, KeyError)  # logged once per batch by the router, with its traceback


def test_a_hanging_async_function_times_out_like_a_call() -> None:
    error = call("test/hanger", budget=0.05)
    assert error.failure is Failure.TRANSIENT
    assert error.reason == "test/hanger/x: no answer within the call timeout of 0.05s"


def test_a_request_the_handler_refuses_is_a_4xx() -> None:
    error = call("test/unknown")
    assert error.failure is Failure.REFUSED
