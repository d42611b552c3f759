"""The runtime side of the wire protocol: build ToFunction batches, check and translate FromFunction.

A response that breaks the protocol raises :class:`ProtocolViolationError` and changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from google.protobuf.message import DecodeError

from statefun_faas import _wire
from statefun_faas.runtime.engine.egress import EgressBinding
from statefun_faas.runtime.records import (
    AFTER_INVOKE,
    AFTER_WRITE,
    NO_EXPIRY,
    Address,
    DelayedEnvelope,
    EgressRecord,
    Envelope,
    Mutation,
    ProtocolViolationError,
    Queued,
    Spec,
    Value,
    Writes,
)

UNSET_TYPE = "io.statefun.types/unset"
_MODIFY = _wire.FromFunction.PersistedValueMutation.MutationType.MODIFY
_DELETE = _wire.FromFunction.PersistedValueMutation.MutationType.DELETE


def _set_address(target: _wire.Address, address: Address) -> None:
    target.namespace, _, target.type = address.typename.partition("/")
    target.id = address.id


def _set_value(typed: _wire.TypedValue, value: Value) -> None:
    typed.typename = value.typename
    if value.data is not None:
        typed.has_value = True
        typed.value = value.data
    if value.extra:
        typed.MergeFromString(value.extra)


def request(address: Address, batch: Sequence[Queued], specs: Mapping[str, Spec], values: Mapping[str, Value]) -> bytes:
    """A ToFunction carrying every registered state of the function type and the batch's messages."""
    to_function = _wire.ToFunction()
    invocation = to_function.invocation
    _set_address(invocation.target, address)
    for name in specs:
        persisted = invocation.state.add(state_name=name)
        value = values.get(name)
        if value is not None and value.data is not None:
            _set_value(persisted.state_value, value)
    for queued in batch:
        added = invocation.invocations.add()
        if queued.caller is not None:
            _set_address(added.caller, queued.caller)
        _set_value(added.argument, queued.argument)
    return to_function.SerializeToString()


def parse(body: bytes) -> _wire.FromFunction:
    try:
        return _wire.FromFunction.FromString(body)
    except DecodeError as error:
        raise ProtocolViolationError(f"the response body is not a FromFunction protobuf message: {error}") from None


def missing_specs(response: _wire.FromFunction, registered: Mapping[str, Spec]) -> list[Spec] | None:
    """The new specs of an IncompleteInvocationContext, or None for an InvocationResponse."""
    if response.WhichOneof("response") != "incomplete_invocation_context":
        return None
    new: dict[str, Spec] = {}
    for value in response.incomplete_invocation_context.missing_values:
        spec = _spec(value)
        known = registered.get(spec.name) or new.get(spec.name)
        if known is None:
            new[spec.name] = spec
        elif known.typename != spec.typename:
            raise ProtocolViolationError(
                f"state {spec.name!r} is registered with type {known.typename!r} but the function now declares "
                f"{spec.typename!r}; the type of a registered state can not change, use a new state name"
            )
    if not new:
        raise ProtocolViolationError(
            "the function answered IncompleteInvocationContext although every state it names was sent; "
            "check that the function reads state names as sent"
        )
    return list(new.values())


EXTRA_ROUNDS = 3  # IncompleteInvocationContext rounds allowed for one batch beyond the states named in the first
SHOWN_NAMES = 20  # state names quoted in the reason, at most


class IncompleteRounds:
    """Bounds the IncompleteInvocationContext rounds of one batch. An SDK names every state it misses at once,
    so one round is enough; a function that names states one by one gets one round per state named in the
    first answer plus :data:`EXTRA_ROUNDS`. A function that names a new state on every call (a spec built per
    call) would otherwise be called forever (Apache Flink StateFun has no limit: it loops) and is a
    protocol violation instead."""

    def __init__(self, typename: str) -> None:
        self.typename = typename
        self.rounds = 0
        self.limit = 0
        self.names: list[str] = []

    def missing(self, response: _wire.FromFunction, registered: Mapping[str, Spec]) -> list[Spec] | None:
        """:func:`missing_specs`, or ProtocolViolationError once the rounds pass the limit."""
        new = missing_specs(response, registered)
        if new is None:
            return None
        self.rounds += 1
        self.limit = self.limit or len(new) + EXTRA_ROUNDS
        self.names += [spec.name for spec in new]
        if self.rounds > self.limit:
            shown = ", ".join(repr(name) for name in self.names[:SHOWN_NAMES])
            more = f" and {len(self.names) - SHOWN_NAMES} more" if len(self.names) > SHOWN_NAMES else ""
            raise ProtocolViolationError(
                f"function type {self.typename} answered IncompleteInvocationContext {self.rounds} times for one "
                f"batch, naming new states each time ({shown}{more}); declare a fixed set of states (ValueSpecs "
                "created once, not per call)"
            )
        return new


def _spec(value: Any) -> Spec:
    expiration = value.expiration_spec
    mode = int(expiration.mode)
    if mode not in (NO_EXPIRY, AFTER_WRITE, AFTER_INVOKE):
        raise ProtocolViolationError(f"state {value.state_name!r} has an unknown expiration mode {mode}")
    if not value.state_name:
        raise ProtocolViolationError("a PersistedValueSpec has an empty state_name")
    millis = int(expiration.expire_after_millis) if mode != NO_EXPIRY else 0
    return Spec(value.state_name, value.type_typename or UNSET_TYPE, mode, millis)


def _address(address: _wire.Address, what: str) -> Address:
    if not address.namespace or not address.type:
        raise ProtocolViolationError(f"{what} has no function type: {address.namespace!r}/{address.type!r}")
    return Address(f"{address.namespace}/{address.type}", address.id)


def _value(typed: _wire.TypedValue) -> Value:
    """The value a message carries. Fields StateFun 3.3's protocol lacks (a fork's metadata) are kept as their
    wire bytes: the message's size (counted by protobuf) beyond what its three fields take says there are some
    (a non-ASCII typename takes the slow path too, which finds none)."""
    typename, has_value, value = typed.typename, typed.has_value, typed.value
    known = 2 if has_value else 0
    if typename:
        known += _field_size(len(typename))
    if value:
        known += _field_size(len(value))
    data = value if has_value else None
    if typed.ByteSize() == known:
        return Value(typename, data)
    rest = _wire.TypedValue()
    rest.MergeFrom(typed)
    for name in ("typename", "has_value", "value"):
        rest.ClearField(name)
    return Value(typename, data, rest.SerializeToString())


def _field_size(length: int) -> int:
    """Bytes a length-delimited field of field number 1 to 15 takes: its tag, its length as a varint, the bytes."""
    return (2 if length < 128 else 1 + (length.bit_length() + 6) // 7) + length


class Translation:
    """Turns one InvocationResponse into :class:`Writes`, checking every rule on the way."""

    def __init__(
        self,
        address: Address,
        batch: Sequence[Queued],
        specs: Mapping[str, Spec],
        now: float,
        egresses: Callable[[str], EgressBinding | None],
        token_pending: Callable[[str], bool],
    ) -> None:
        self.address, self.specs, self.now = address, specs, now
        self.egresses, self.token_pending = egresses, token_pending
        self.writes = Writes(address, [q.seq for q in batch], [], [], [], [], [], [], now)

    def translate(self, response: _wire.FromFunction) -> Writes:
        result = response.invocation_result  # an empty FromFunction counts as a result without effects
        for message in result.outgoing_messages:
            target = _address(message.target, "an outgoing message's target")
            self.writes.messages.append(Envelope(target, _value(message.argument), self.address))
        self._delayed(result.delayed_invocations)
        for egress in result.outgoing_egresses:
            self._egress(egress)
        for mutation in result.state_mutations:
            self._mutation(mutation)
        for spec in self.specs.values():
            if spec.expire_mode == AFTER_INVOKE:
                self.writes.touched.append((spec.name, self.now + spec.expire_ms / 1000.0))
        return self.writes

    def _delayed(self, delayed: Any) -> None:
        tokens: set[str] = set()
        for item in delayed:
            token = item.cancellation_token
            if item.is_cancellation_request:
                if not token:
                    raise ProtocolViolationError("a delayed-message cancellation has an empty cancellation token")
                self.writes.cancelled.append(token)  # the store cancels before it adds this response's sends
                self.writes.delayed = [d for d in self.writes.delayed if d.token != token]
                tokens.discard(token)
                continue
            if item.delay_in_ms < 0:
                raise ProtocolViolationError(f"a delayed message has a negative delay of {item.delay_in_ms} ms")
            if token and (token in tokens or (token not in self.writes.cancelled and self.token_pending(token))):
                raise ProtocolViolationError(
                    f"cancellation token {token!r} is already pending for {self.address}; make tokens unique"
                )
            if token:
                tokens.add(token)
            target = _address(item.target, "a delayed message's target")
            envelope = Envelope(target, _value(item.argument), self.address)
            self.writes.delayed.append(
                DelayedEnvelope(self.now + item.delay_in_ms / 1000.0, self.address, token, envelope)
            )

    def _egress(self, egress: Any) -> None:
        egress_id = f"{egress.egress_namespace}/{egress.egress_type}"
        binding = self.egresses(egress_id)
        if binding is None:
            raise ProtocolViolationError(f"unknown egress {egress_id!r}: declare it in module.yaml")
        topic, payload = binding.record(egress_id, _value(egress.argument))
        self.writes.egress.append(EgressRecord(egress_id, topic, egress.argument.typename, payload))

    def _mutation(self, mutation: Any) -> None:
        name = mutation.state_name
        spec = self.specs.get(name)
        if spec is None:
            raise ProtocolViolationError(
                f"mutation of state {name!r}, which is not registered for {self.address.typename}"
            )
        if mutation.mutation_type == _DELETE:
            self.writes.mutations.append(Mutation(name, None, spec.typename))
        elif mutation.mutation_type == _MODIFY:
            typename = mutation.state_value.typename
            if typename != spec.typename:
                raise ProtocolViolationError(
                    f"MODIFY of state {name!r} with type {typename!r}, but it is registered with {spec.typename!r}"
                )
            expires_at = spec.expires_at(self.now)  # AFTER_WRITE and AFTER_INVOKE both restart on a write
            self.writes.mutations.append(Mutation(name, mutation.state_value.value, typename, expires_at))
        else:
            raise ProtocolViolationError(f"state {name!r} has an unknown mutation type {mutation.mutation_type}")
