"""The local runtime passes a message's value on whole: fields of ``TypedValue`` that StateFun 3.3's protocol
lacks (the io.github.kzmlabs.flinkstatefun fork's metadata) reach the receiving function byte for byte, through
the inbox, a delayed message, and a dead letter replayed; as Apache StateFun forwards the protobuf it was given.
A state folder written before the runtime kept them opens and gains the columns. Real SQLite files; the
functions are invokers answering protocol bytes, so the sender can write fields our SDK does not know."""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path

from statefun_faas import _wire
from statefun_faas.runtime.engine.egress import PlaygroundEgress
from statefun_faas.runtime.engine.failures import Failure, InvocationError
from statefun_faas.runtime.engine.router import FunctionRoute, Router
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store
from tests.core.test_unknown_fields import UNKNOWN
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

SENDER, RECEIVER = Address("fork/sender", "a"), Address("fork/receiver", "b")
GO = Value("io.statefun.types/string", b"go")


def forwarded_value() -> bytes:
    """The value the sender sends: a string with the fork's fields after its own."""
    value = _wire.TypedValue(typename="io.statefun.types/string", has_value=True, value=b"hello")
    return value.SerializeToString() + UNKNOWN


class Sender:
    """Sends ``forwarded_value`` to the receiver, at once or (``delay_ms``) as a delayed message."""

    def __init__(self, delay_ms: int | None = None) -> None:
        self.delay_ms = delay_ms

    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        answer = _wire.FromFunction()
        result = answer.invocation_result
        sent: _wire.FromFunction.Invocation | _wire.FromFunction.DelayedInvocation
        if self.delay_ms is None:
            sent = result.outgoing_messages.add()
        else:
            sent = result.delayed_invocations.add(delay_in_ms=self.delay_ms)
        sent.target.namespace, sent.target.type, sent.target.id = "fork", "receiver", RECEIVER.id
        sent.argument.MergeFromString(forwarded_value())
        return answer.SerializeToString()


class Receiver:
    """Keeps the wire bytes of every argument it is sent; refuses while ``refusing``."""

    def __init__(self) -> None:
        self.arguments: list[bytes] = []
        self.refusing = False

    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        if self.refusing:
            raise InvocationError("refused for the test", Failure.MISCONFIGURED)
        for item in _wire.ToFunction.FromString(body).invocation.invocations:
            self.arguments.append(item.argument.SerializeToString())
        return _wire.FromFunction().SerializeToString()


def router_for(store: Store, sender: Sender, receiver: Receiver) -> Router:
    routes = {SENDER.typename: FunctionRoute(sender), RECEIVER.typename: FunctionRoute(receiver)}
    return Router(store, routes.get, lambda _: PlaygroundEgress(None))


def run(router: Router, *, fire: bool = False) -> None:
    async def go() -> None:
        router.submit([Envelope(SENDER, GO)])
        await router.quiescent()
        if fire:
            await asyncio.sleep(0.01)
            router.fire_due()
            await router.quiescent()
        await router.close()

    asyncio.run(go())


def test_a_message_reaches_its_function_with_the_fields_the_runtime_does_not_know(tmp_path: Path) -> None:
    receiver = Receiver()
    run(router_for(opened(Store(tmp_path / "state.db")), Sender(), receiver))
    assert receiver.arguments == [forwarded_value()]


def test_a_delayed_message_keeps_them_too(tmp_path: Path) -> None:
    receiver = Receiver()
    run(router_for(opened(Store(tmp_path / "state.db")), Sender(delay_ms=1), receiver), fire=True)
    assert receiver.arguments == [forwarded_value()]


def test_a_dead_letter_replayed_keeps_them(tmp_path: Path) -> None:
    store, receiver = opened(Store(tmp_path / "state.db")), Receiver()
    receiver.refusing = True
    run(router_for(store, Sender(), receiver))
    [letter] = store.dead_letters()
    assert letter.envelope.argument.extra == UNKNOWN
    receiver.refusing = False
    router = router_for(store, Sender(), receiver)

    async def replay() -> None:
        router.wake(store.replay())
        await router.quiescent()
        await router.close()

    asyncio.run(replay())
    assert receiver.arguments == [forwarded_value()]


def test_a_value_without_them_is_stored_as_before(tmp_path: Path) -> None:
    store = opened(Store(tmp_path / "state.db"))
    store.enqueue([Envelope(RECEIVER, Value("io.statefun.types/string", b"plain"))])
    [(extra,)] = store.db.execute("SELECT arg_extra FROM inbox").fetchall()
    assert extra is None
    assert store.inbox(RECEIVER, 10)[0].argument == Value("io.statefun.types/string", b"plain")


def test_a_state_folder_from_before_gains_the_columns_and_keeps_its_messages(tmp_path: Path) -> None:
    path = tmp_path / "state.db"
    with sqlite3.connect(path) as db:  # the three tables as a release before arg_extra made them
        db.executescript(
            "CREATE TABLE inbox (seq INTEGER PRIMARY KEY, typename TEXT NOT NULL, id TEXT NOT NULL, "
            "caller_typename TEXT, caller_id TEXT, arg_typename TEXT NOT NULL, arg BLOB);"
            "CREATE TABLE delayed (seq INTEGER PRIMARY KEY, fire_at REAL NOT NULL, sender_typename TEXT NOT NULL, "
            "sender_id TEXT NOT NULL, token TEXT NOT NULL, typename TEXT NOT NULL, id TEXT NOT NULL, "
            "arg_typename TEXT NOT NULL, arg BLOB);"
            "CREATE TABLE dead_letters (seq INTEGER PRIMARY KEY, typename TEXT NOT NULL, id TEXT NOT NULL, "
            "caller_typename TEXT, caller_id TEXT, arg_typename TEXT NOT NULL, arg BLOB, reason TEXT NOT NULL, "
            "at REAL NOT NULL);"
            "INSERT INTO inbox VALUES (1, 'fork/receiver', 'b', NULL, NULL, 'io.statefun.types/string', X'6f6c64');"
            "INSERT INTO dead_letters VALUES (1, 'fork/receiver', 'b', NULL, NULL, 'io.statefun.types/string', "
            "X'64656164', 'a reason', 0);"
        )
    db.close()
    reader = opened(Store(path, read_only=True))  # beside it (dead-letters, the views): never migrates it
    assert [letter.envelope.argument for letter in reader.dead_letters()] == [
        Value("io.statefun.types/string", b"dead")
    ]
    store = opened(Store(path))
    assert store.inbox(RECEIVER, 10)[0].argument == Value("io.statefun.types/string", b"old")
    assert [letter.envelope.argument for letter in store.dead_letters()] == [Value("io.statefun.types/string", b"dead")]
    receiver = Receiver()
    run(router_for(store, Sender(delay_ms=1), receiver), fire=True)
    assert sorted(receiver.arguments) == sorted(
        [
            _wire.TypedValue(typename="io.statefun.types/string", has_value=True, value=b"old").SerializeToString(),
            forwarded_value(),
        ]
    )
