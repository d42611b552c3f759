"""An in-memory tester for StateFun applications: the local runtime's router on an in-memory store.

Core only (no aiohttp, no YAML)::

    tester = FunctionTester(functions)
    tester.send("example/greeter", "bob", {"name": "bob"}, GreetRequestType)
    assert tester.egress_payloads("io.statefun.playground/egress", "greetings") == [b"Hello bob"]
    assert tester.state("example/greeter", "bob", "visits", IntType) == 1
    tester.advance(timedelta(seconds=5))  # fires delayed messages that are due by then
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import timedelta
from typing import Any, TypeVar

from statefun_faas.functions import StatefulFunctions
from statefun_faas.runtime.egress import AnyEgress, EgressBinding, PlaygroundEgress
from statefun_faas.runtime.inprocess import in_process_routes
from statefun_faas.runtime.records import Address, DeadLetter, EgressRecord, Envelope, Value
from statefun_faas.runtime.router import Counters, Router
from statefun_faas.runtime.store import Store
from statefun_faas.types import StringType, Type

T = TypeVar("T")

PLAYGROUND_EGRESS = "io.statefun.playground/egress"


class ManualClock:
    """A clock that moves only when told; starts at a fixed epoch time."""

    def __init__(self, start: float = 1_700_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now


class FunctionTester:
    """Runs functions to quiescence on every :meth:`send`, keeping state, egress and delayed messages.

    ``egresses`` maps egress ids to bindings; by default every egress id is accepted and the
    playground egress takes any topic.
    """

    def __init__(
        self,
        functions: StatefulFunctions,
        egresses: Mapping[str, EgressBinding] | None = None,
        call_timeout: float = 60.0,
    ) -> None:
        self.clock = ManualClock()
        self.store = Store(":memory:")
        bindings = dict(egresses or {})

        def egress(egress_id: str) -> EgressBinding | None:
            if egresses is not None:
                return bindings.get(egress_id)
            return PlaygroundEgress(None) if egress_id == PLAYGROUND_EGRESS else AnyEgress()

        self.router = Router(self.store, in_process_routes(functions, call_timeout=call_timeout), egress, self.clock)
        self._loop = asyncio.new_event_loop()

    def close(self) -> None:
        self._loop.close()
        self.store.close()

    def __enter__(self) -> FunctionTester:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    @property
    def counters(self) -> Counters:
        return self.router.counters

    def send(self, typename: str, id: str, value: Any, value_type: Type[Any] = StringType) -> None:  # noqa: A002
        """Send a message as an ingress would (no caller) and run until nothing is left to do."""
        argument = Value(value_type.typename, value_type.serializer().serialize(value))
        self.send_raw(Envelope(Address(typename, id), argument))

    def send_raw(self, *envelopes: Envelope) -> None:
        self._run(lambda: self.router.submit(envelopes))

    def advance(self, delta: timedelta | float) -> None:
        """Move the clock forward, firing the delayed messages due by then in time order."""
        seconds = delta.total_seconds() if isinstance(delta, timedelta) else float(delta)
        end = self.clock.now + seconds
        while True:
            next_at = self.store.next_fire_at()
            if next_at is None or next_at > end:
                break
            self.clock.now = max(self.clock.now, next_at)
            self._run(self.router.fire_due)
        self.clock.now = end
        self._run(lambda: None)

    def state(self, typename: str, id: str, name: str, value_type: Type[T] | None = None) -> Any:  # noqa: A002
        """The stored (unexpired) value of one state: decoded with ``value_type``, else raw bytes, or None."""
        value = self.store.state(Address(typename, id), self.clock.now).get(name)
        if value is None or value.data is None:
            return None
        return value.data if value_type is None else value_type.serializer().deserialize(value.data)

    def egress(self, egress_id: str, topic: str | None = None) -> list[EgressRecord]:
        """The egress records produced so far (kept; use :meth:`take_egress` to remove them)."""
        records = self.store.egress_records(egress_id)
        return [record for record in records if topic is None or record.topic == topic]

    def egress_payloads(self, egress_id: str, topic: str | None = None) -> list[bytes]:
        return [record.payload for record in self.egress(egress_id, topic)]

    def take_egress(self, egress_id: str, topic: str = "") -> list[bytes]:
        payloads = []
        while (record := self.store.pop_egress(egress_id, topic)) is not None:
            payloads.append(record.payload)
        return payloads

    def dead_letters(self) -> list[DeadLetter]:
        return self.store.dead_letters()

    def pending_delayed(self) -> int:
        return self.store.count_delayed()

    def _run(self, start: Any) -> None:
        async def go() -> None:
            start()
            await self.router.quiescent()

        self._loop.run_until_complete(go())
