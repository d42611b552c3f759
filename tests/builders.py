"""Build ToFunction request bytes and decode FromFunction responses, for tests."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from statefun_faas import _wire
from statefun_faas.types import Type, to_typed_value


def typed(value_type: Type[Any], value: Any) -> _wire.TypedValue:
    return to_typed_value(value_type, value)


@dataclass
class Request:
    """A ToFunction under construction: ``Request("ns/fn", "id").state(...).message(...).bytes()``."""

    typename: str
    id: str
    states: list[tuple[str, _wire.TypedValue | None]] = field(default_factory=list)
    invocations: list[tuple[str | None, _wire.TypedValue]] = field(default_factory=list)

    def state(self, name: str, value: _wire.TypedValue | None = None) -> Request:
        """Add a state; ``None`` means registered but holding no value."""
        self.states.append((name, value))
        return self

    def message(self, argument: _wire.TypedValue, caller: str | None = None) -> Request:
        """Add an invocation; ``caller`` is ``namespace/type/id`` or None for an ingress message."""
        self.invocations.append((caller, argument))
        return self

    def proto(self) -> _wire.ToFunction:
        to_function = _wire.ToFunction()
        batch = to_function.invocation
        namespace, name = self.typename.split("/")
        batch.target.namespace, batch.target.type, batch.target.id = namespace, name, self.id
        for state_name, value in self.states:
            state = batch.state.add(state_name=state_name)
            if value is not None:
                state.state_value.CopyFrom(value)
        for caller, argument in self.invocations:
            invocation = batch.invocations.add()
            if caller is not None:
                c_namespace, c_type, c_id = caller.split("/")
                invocation.caller.namespace, invocation.caller.type, invocation.caller.id = (
                    c_namespace,
                    c_type,
                    c_id,
                )
            invocation.argument.CopyFrom(argument)
        return to_function

    def bytes(self) -> bytes:
        return self.proto().SerializeToString()


def decode(response: bytes) -> _wire.FromFunction:
    return _wire.FromFunction.FromString(response)
