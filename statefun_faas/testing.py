"""Testing StateFun functions without HTTP and without a runtime process.

Needs only the base install: the local runtime's router and SQLite store (standard library only) run in
memory, without the ``[runtime]`` extra (no HTTP server, no YAML).

:func:`invoke` calls one function once, with the state and messages you give, through the
real protocol core, and returns what it did (state afterwards, sent, delayed, cancelled and
egress messages)::

    result = invoke(functions, "example/greeter", "bob", [("Bob", StringType)], state={"visits": 2})
    assert result.state["visits"] == 3

:class:`FunctionTester` runs a whole application: the local runtime's router on an in-memory
store, with a clock you move::

    tester = FunctionTester(functions)
    tester.send("example/greeter", "bob", {"name": "bob"}, GreetRequestType)
    assert tester.egress_payloads("io.statefun.playground/egress", "greetings") == [b"Hello bob"]
    assert tester.state("example/greeter", "bob", "visits", IntType) == 1
    tester.advance(timedelta(seconds=5))  # fires delayed messages that are due by then
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, NamedTuple, TypeVar

from statefun_faas import _wire
from statefun_faas.errors import ConfigurationError
from statefun_faas.functions import StatefulFunctions, ValueSpec
from statefun_faas.handler import RequestReplyHandler
from statefun_faas.messages import EgressMessage, Message
from statefun_faas.moduleyaml.model import PLAYGROUND_EGRESS_ID
from statefun_faas.runtime.engine.egress import AnyEgress, EgressBinding, PlaygroundEgress
from statefun_faas.runtime.engine.router import Counters, Router
from statefun_faas.runtime.invoke.inprocess import in_process_routes
from statefun_faas.runtime.records import Address, DeadLetter, EgressRecord, Envelope, Value
from statefun_faas.runtime.store.database import Store
from statefun_faas.types import StringType, Type, split_typename, to_typed_value

T = TypeVar("T")


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
            return PlaygroundEgress(None) if egress_id == PLAYGROUND_EGRESS_ID else AnyEgress()

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


class Delayed(NamedTuple):
    """A message the function asked to send later."""

    delay: timedelta
    message: Message
    cancellation_token: str


class Effects(NamedTuple):
    """What one call of a function produced.

    ``state`` holds every declared state after the call (``None`` when absent or deleted);
    ``changed`` names the states the function wrote or deleted; ``missing`` lists the states
    the runtime would first have to register (then nothing ran).
    """

    state: dict[str, Any]
    changed: list[str]
    sent: list[Message]
    delayed: list[Delayed]
    cancelled: list[str]
    egress: list[EgressMessage]
    missing: list[str]


MessageSpec = tuple[Any, Type[Any]] | tuple[Any, Type[Any], str]


def invoke(
    functions: StatefulFunctions,
    typename: str,
    id: str,  # noqa: A002 (the address field's name)
    messages: Sequence[MessageSpec],
    state: Mapping[str, Any] | None = None,
    *,
    registered: Sequence[str] | None = None,
) -> Effects:
    """Call ``typename``/``id`` once with a batch of ``messages`` and return its effects.

    Each message is ``(value, type)`` or ``(value, type, "namespace/type/id")`` naming the
    caller. ``state`` gives values of declared states (the rest are registered but empty);
    ``registered`` lists the state names the runtime knows (default: all declared).
    """
    function = functions.for_typename(typename)
    specs = {spec.name: spec for spec in function.specs}
    unknown = set(state or {}) - set(specs)
    if unknown:
        raise ConfigurationError(f"{typename!r} declares no state named {sorted(unknown)}; declared: {list(specs)}")
    request = _request(typename, id, messages, specs, state or {}, registered)
    reply = _wire.FromFunction.FromString(RequestReplyHandler(functions).handle_sync(request))
    return _effects(reply, specs, state or {})


def _request(
    typename: str,
    id_: str,
    messages: Sequence[MessageSpec],
    specs: Mapping[str, ValueSpec],
    values: Mapping[str, Any],
    registered: Sequence[str] | None,
) -> bytes:
    to_function = _wire.ToFunction()
    batch = to_function.invocation
    batch.target.namespace, batch.target.type = split_typename(typename)
    batch.target.id = id_
    for name in specs if registered is None else registered:
        persisted = batch.state.add(state_name=name)
        if values.get(name) is not None:
            persisted.state_value.CopyFrom(to_typed_value(specs[name].type, values[name]))
    for value, value_type, *caller in messages:
        invocation = batch.invocations.add()
        invocation.argument.CopyFrom(to_typed_value(value_type, value))
        if caller:
            namespace, name, caller_id = caller[0].split("/")
            invocation.caller.namespace, invocation.caller.type, invocation.caller.id = namespace, name, caller_id
    return to_function.SerializeToString()


def _effects(reply: _wire.FromFunction, specs: Mapping[str, ValueSpec], before: Mapping[str, Any]) -> Effects:
    state = {name: before.get(name) for name in specs}
    if reply.HasField("incomplete_invocation_context"):
        missing = [value.state_name for value in reply.incomplete_invocation_context.missing_values]
        return Effects(state, [], [], [], [], [], missing)
    result = reply.invocation_result
    changed = []
    for mutation in result.state_mutations:
        changed.append(mutation.state_name)
        modified = mutation.mutation_type == _wire.FromFunction.PersistedValueMutation.MODIFY
        serializer = specs[mutation.state_name].type.serializer()
        state[mutation.state_name] = serializer.deserialize(mutation.state_value.value) if modified else None
    delayed, cancelled = [], []
    for item in result.delayed_invocations:
        if item.is_cancellation_request:
            cancelled.append(item.cancellation_token)
        else:
            message = _message(item.target, item.argument)
            delayed.append(Delayed(timedelta(milliseconds=item.delay_in_ms), message, item.cancellation_token))
    sent = [_message(item.target, item.argument) for item in result.outgoing_messages]
    egress = [
        EgressMessage(f"{item.egress_namespace}/{item.egress_type}", item.argument) for item in result.outgoing_egresses
    ]
    return Effects(state, changed, sent, delayed, cancelled, egress, [])


def _message(target: _wire.Address, argument: _wire.TypedValue) -> Message:
    return Message(f"{target.namespace}/{target.type}", target.id, argument)
