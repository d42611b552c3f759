"""The FromFunction answering a batch that ran: state mutations, messages, delayed messages, egress."""

from __future__ import annotations

from typing import Any

from statefun_faas import _wire
from statefun_faas.context import Context, DelayedMessage
from statefun_faas.messages import Message, write_value
from statefun_faas.storage import state_types, written_values
from statefun_faas.types import split_typename

_MODIFY = _wire.FromFunction.PersistedValueMutation.MutationType.MODIFY
_DELETE = _wire.FromFunction.PersistedValueMutation.MutationType.DELETE

# Filling fields one by one is faster than keyword constructors in upb, and writing values
# straight into the response faster than building TypedValues and copying them; protobuf
# is also faster at this than writing the bytes by hand in Python (all measured with
# benchmarks/handler.py).


def invocation_result(context: Context) -> bytes:
    """The serialized FromFunction for the batch ``context`` saw."""
    from_function = _wire.FromFunction()
    result = from_function.invocation_result
    written = written_values(context.storage)
    if written:
        _add_mutations(result.state_mutations, written, context)
    if context.outgoing:
        add = result.outgoing_messages.add
        for message in context.outgoing:
            outgoing = add()
            _set_target(outgoing.target, message)
            write_value(message, outgoing.argument)
    if context.delayed:
        for delayed in context.delayed:
            _add_delayed(result.delayed_invocations.add(), delayed)
    if context.egress:
        add_egress = result.outgoing_egresses.add
        for egress in context.egress:
            outgoing_egress = add_egress()
            outgoing_egress.egress_namespace = egress.egress_namespace
            outgoing_egress.egress_type = egress.egress_type
            write_value(egress, outgoing_egress.argument)
    return from_function.SerializeToString()


def _add_mutations(mutations: Any, written: dict[str, bytes | None], context: Context) -> None:
    types = state_types(context.storage)
    for name, data in written.items():
        mutation = mutations.add()
        mutation.state_name = name
        if data is None:
            mutation.mutation_type = _DELETE
        else:
            mutation.mutation_type = _MODIFY
            state_value = mutation.state_value
            state_value.typename = types[name].typename
            state_value.has_value = True
            state_value.value = data


def _set_target(target: _wire.Address, message: Message) -> None:
    target.namespace, target.type = split_typename(message.target_typename, "target typename")
    target.id = message.target_id


def _add_delayed(outgoing: Any, delayed: DelayedMessage) -> None:
    message = delayed.message
    if message is None:
        outgoing.cancellation_token = delayed.cancellation_token
        outgoing.is_cancellation_request = True
        return
    _set_target(outgoing.target, message)
    outgoing.delay_in_ms = delayed.delay_ms
    write_value(message, outgoing.argument)
    outgoing.cancellation_token = delayed.cancellation_token
