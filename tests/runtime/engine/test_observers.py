"""The router's observers (history, metrics) see each delivered batch once: where it went, its messages' seqs,
every request with its failure, and what became of it. A real SQLite store, functions in-process."""

from __future__ import annotations

import asyncio
from pathlib import Path

from statefun_faas.runtime.engine.failures import Failure
from statefun_faas.runtime.engine.router import FunctionRoute, Router
from statefun_faas.runtime.records import APPLIED, DEAD_LETTERED, ISOLATED, Address, Envelope, Invocation, Value
from statefun_faas.runtime.store.database import Store
from tests.runtime.engine.test_failure_policy import EGRESS, Poisoned, raising
from tests.runtime.engine.test_poison import KEY, POISON
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)


def observe(tmp_path: Path, function: Poisoned | None, bodies: list[str], target: Address = KEY) -> list[Invocation]:
    store = opened(Store(tmp_path / "state.db"))
    route = None if function is None else FunctionRoute(function, endpoint="http://functions/{id}")
    router = Router(store, lambda _: route, lambda _: EGRESS)
    seen: list[Invocation] = []
    router.observers.append(seen.append)

    async def go() -> None:
        router.submit([Envelope(target, Value("test/text", body.encode())) for body in bodies])
        await router.quiescent()
        await router.close()

    asyncio.run(go())
    return seen


def test_an_applied_batch_is_seen_once_with_its_seqs_request_and_writes(tmp_path: Path) -> None:
    seen = observe(tmp_path, Poisoned(raising(Failure.REFUSED)), ["a", "b", "c"])
    assert len(seen) == 1
    invocation = seen[0]
    assert (invocation.address, invocation.endpoint, invocation.outcome) == (KEY, "http://functions/{id}", APPLIED)
    assert invocation.seqs == (1, 2, 3)
    # the first request finds the function's state unregistered: a second round carries it
    assert [attempt.error for attempt in invocation.attempts] == [None, None]
    assert invocation.writes is not None
    assert [r.payload for r in invocation.writes.egress] == [b"k:1:a", b"k:2:b", b"k:3:c"]
    assert invocation.seconds >= invocation.attempts[0].seconds >= 0


def test_isolation_is_seen_as_the_whole_batch_then_each_half(tmp_path: Path) -> None:
    seen = observe(tmp_path, Poisoned(raising(Failure.REFUSED)), ["a", POISON, "b", "c"])
    outcomes = [(invocation.seqs, invocation.outcome) for invocation in seen]
    assert outcomes == [
        ((1, 2, 3, 4), ISOLATED),
        ((1, 2), ISOLATED),
        ((1,), APPLIED),
        ((2,), DEAD_LETTERED),
        ((3, 4), APPLIED),
    ]
    dead = [invocation for invocation in seen if invocation.outcome == DEAD_LETTERED]
    assert [invocation.seqs for invocation in dead] == [(2,)]
    assert dead[0].reason == "injected refused"
    assert [attempt.error for attempt in dead[0].attempts] == ["injected refused"]
    applied = sorted(seq for invocation in seen if invocation.outcome == APPLIED for seq in invocation.seqs)
    assert applied == [1, 3, 4]


def test_retries_are_each_a_request_of_one_invocation(tmp_path: Path) -> None:
    seen = observe(tmp_path, Poisoned(raising(Failure.RAISED)), [POISON])
    assert [invocation.outcome for invocation in seen] == [DEAD_LETTERED]
    assert [attempt.error for attempt in seen[0].attempts] == ["injected raised"] * 3


def test_a_type_no_endpoint_serves_is_seen_dead_lettered_with_no_request(tmp_path: Path) -> None:
    seen = observe(tmp_path, None, ["a"])
    assert [(i.endpoint, i.outcome, i.attempts, i.seqs) for i in seen] == [("", DEAD_LETTERED, (), (1,))]
    assert seen[0].reason is not None
    assert KEY.typename in seen[0].reason
