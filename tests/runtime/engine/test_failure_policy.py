"""The failure policy (statefun_faas/runtime/engine/failures.py) through the router: which failures are isolated
by halves and which dead-letter their batch whole, how often each kind is tried, and failureMode FAIL's
bounded log. The functions run in-process behind an invoker that fails as told for batches holding the
poison message; the store is a real SQLite file."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from pathlib import Path

import pytest

from statefun_faas import _wire
from statefun_faas.runtime.engine import failures
from statefun_faas.runtime.engine.egress import PlaygroundEgress
from statefun_faas.runtime.engine.failures import Failure, InvocationError
from statefun_faas.runtime.engine.router import FunctionRoute, Router
from statefun_faas.runtime.invoke.inprocess import InProcessInvoker
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store
from tests.runtime.engine.test_poison import KEY, POISON, picky
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

EGRESS = PlaygroundEgress(None)


class Poisoned:
    """The picky function in-process; a batch holding the poison message fails by ``fail`` (raises, or answers
    the bytes it returns) while ``failing`` says so."""

    def __init__(self, fail: Callable[[], bytes], marker: str = POISON) -> None:
        self.inner, self.fail, self.marker = InProcessInvoker(picky), fail, marker.encode()
        self.sizes: list[int] = []  # of the batches that reached the function
        self.failing = True

    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        invocations = _wire.ToFunction.FromString(body).invocation.invocations
        self.sizes.append(len(invocations))
        if self.failing and any(item.argument.value == self.marker for item in invocations):
            return self.fail()
        return await self.inner(address, body, budget)


def raising(failure: Failure) -> Callable[[], bytes]:
    def fail() -> bytes:
        raise InvocationError(f"injected {failure.value}", failure)

    return fail


def open_store(tmp_path: Path) -> Store:
    return opened(Store(tmp_path / "state.db"))


def deliver(tmp_path: Path, function: Poisoned, bodies: list[str], call_timeout: float = 60.0) -> tuple[Store, Router]:
    """Submit ``bodies`` to KEY at once (one batch) and run until the router is quiescent."""
    store = open_store(tmp_path)
    router = Router(store, lambda _: FunctionRoute(function, call_timeout=call_timeout), lambda _: EGRESS)

    async def go() -> None:
        router.submit([Envelope(KEY, Value("test/text", body.encode())) for body in bodies])
        await router.quiescent()
        await router.close()

    asyncio.run(go())
    return store, router


def applied(store: Store) -> list[str]:
    return [record.payload.decode() for record in store.egress_records()]


TEN = ["m0", "m1", "m2", POISON, "m3", "m4", "m5", "m6", "m7", "m8"]


@pytest.mark.parametrize(
    ("fail", "reason"),
    [
        (raising(Failure.REFUSED), "injected refused"),  # a 4xx other than 408, 409, 420, 429, 499
        (raising(Failure.RAISED), "injected raised (gave up after 3 attempts and"),  # a 500
        (lambda: b"\xff", "protocol violation: the response body is not a FromFunction"),
    ],
)
def test_a_failure_that_may_belong_to_one_message_isolates_it(
    tmp_path: Path, fail: Callable[[], bytes], reason: str
) -> None:
    function = Poisoned(fail)
    store, _ = deliver(tmp_path, function, TEN)
    [letter] = store.dead_letters()
    assert letter.envelope.argument.data == POISON.encode()
    assert reason in letter.reason
    assert applied(store) == [f"k:{n + 1}:m{n}" for n in range(9)]
    assert function.sizes[0] == 10  # one batch first, then its halves


@pytest.mark.parametrize("failure", [Failure.TRANSIENT, Failure.MISCONFIGURED])
def test_a_failure_the_same_for_every_message_dead_letters_the_batch_whole(tmp_path: Path, failure: Failure) -> None:
    function = Poisoned(raising(failure))
    store, _ = deliver(tmp_path, function, TEN, call_timeout=0.2)
    letters = store.dead_letters()
    assert [letter.envelope.argument.data for letter in letters] == [body.encode() for body in TEN]
    if failure is Failure.TRANSIENT:
        assert all(letter.reason.startswith("injected transient (gave up after ") for letter in letters)
    else:
        assert {letter.reason for letter in letters} == {"injected misconfigured"}
    assert set(function.sizes) == {10}  # never halved
    assert applied(store) == []


@pytest.mark.parametrize(
    ("failure", "calls"),
    [
        (Failure.RAISED, 3),  # RAISED_ATTEMPTS, though the call timeout leaves room for more
        (Failure.REFUSED, 1),
        (Failure.MISCONFIGURED, 1),
    ],
)
def test_how_often_a_batch_is_tried(tmp_path: Path, failure: Failure, calls: int) -> None:
    function = Poisoned(raising(failure))
    store, router = deliver(tmp_path, function, [POISON], call_timeout=60.0)
    assert len(function.sizes) == calls
    assert router.counters.retries == calls - 1
    assert len(store.dead_letters()) == 1


def test_a_transient_failure_is_retried_until_the_call_timeout(tmp_path: Path) -> None:
    function = Poisoned(raising(Failure.TRANSIENT))
    store, _ = deliver(tmp_path, function, [POISON], call_timeout=0.5)
    # waits of 10, 20, 40, 80, 160 ms: a sixth wait (320 ms) would leave no room for an attempt
    assert len(function.sizes) == 6
    [letter] = store.dead_letters()
    assert letter.reason.startswith("injected transient (gave up after 6 attempts and ")


def test_failure_mode_fail_says_a_lasting_failure_at_most_once_an_interval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.WARNING, "statefun_faas.runtime")
    monkeypatch.setattr(failures, "STILL_FAILING_EVERY_S", 0.2)
    monkeypatch.setattr(failures, "MAX_BACKOFF_S", 0.05)  # capped: many attempts in the test's 1.5 s
    function = Poisoned(raising(Failure.REFUSED), marker="held")

    async def release() -> None:
        await asyncio.sleep(1.5)
        function.failing = False

    async def go() -> tuple[Store, Router]:
        store = open_store(tmp_path)
        router = Router(store, lambda _: FunctionRoute(function, call_timeout=0.1, drop=False), lambda _: EGRESS)
        releasing = asyncio.create_task(release())
        router.submit([Envelope(KEY, Value("test/text", b"held"))])
        await router.quiescent()
        await releasing
        await router.close()
        return store, router

    store, router = asyncio.run(go())
    assert store.dead_letters() == []
    said = [record.getMessage() for record in caplog.records if record.name == "statefun_faas.runtime"]
    assert len(function.sizes) > 20  # tried on and on
    still = [line for line in said if "still failing" in line]
    assert 4 <= len(still) <= 8  # about one per 0.2 s in 1.5 s
    assert said[0].endswith("failureMode FAIL: retrying 1 message(s) with backoff until they are applied")
    assert said[-1].startswith(f"{KEY}: succeeded after {len(function.sizes) - 1} attempts in ")
    assert len(said) == len(still) + 2
    assert router.counters.messages == 1
