"""Address-scoped state: one attribute per declared ValueSpec."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from statefun_faas import _wire
from statefun_faas.errors import ConfigurationError, StateTypeMismatchError

if TYPE_CHECKING:
    from statefun_faas.functions import StatefulFunction
    from statefun_faas.types import Type


class AddressStorage(tuple[Any, ...]):
    """``context.storage``: each declared state is an attribute; read, assign or ``del`` it.

    Values are decoded on every read and encoded on every write, so what a function keeps is
    its own. Internally a tuple of (the function's state types by name, the TypedValues the
    request carried by name, the bytes written since by name with ``None`` for deleted, the
    function's typename): every attribute access runs through ``__getattribute__`` below,
    and indexing a tuple is the one way to reach the parts that does not.
    """

    __slots__ = ()

    def _missing(self, name: str) -> AttributeError:
        declared = ", ".join(self[0]) or "none"
        return AttributeError(
            f"{name!r} is not a ValueSpec of function {self[3]!r} (declared: {declared}); "
            f"add ValueSpec({name!r}, ...) to its specs"
        )

    def __getattribute__(self, name: str) -> Any:
        # Looked up before the normal attribute machinery: a plain __getattr__ would first
        # build and throw away an AttributeError on every state read.
        value_type = self[0].get(name)
        if value_type is None:
            return object.__getattribute__(self, name)
        written = self[2]
        if name in written:
            data = written[name]
            return None if data is None else value_type._decode(data)
        typed_value = self[1][name]
        if not typed_value.has_value:
            return None
        if typed_value.typename != value_type.typename:
            raise StateTypeMismatchError(name, value_type.typename, typed_value.typename)
        return value_type._decode(typed_value.value)

    def __getattr__(self, name: str) -> Any:
        raise self._missing(name)

    def __setattr__(self, name: str, value: Any) -> None:
        value_type = self[0].get(name)
        if value_type is None:
            raise self._missing(name)
        if value is None:
            raise ConfigurationError(
                f"can not store None in state {name!r}; to delete it use: del context.storage.{name}"
            )
        self[2][name] = value_type._encode(value)

    def __delattr__(self, name: str) -> None:
        if name not in self[0]:
            raise self._missing(name)
        self[2][name] = None

    def __dir__(self) -> list[str]:
        return list(self[0])

    def __repr__(self) -> str:
        return f"<storage of {self[3]}: {', '.join(self[0]) or 'no states'}>"


def address_storage(function: StatefulFunction, received: dict[str, _wire.TypedValue]) -> AddressStorage:
    """The storage of one batch of ``function``, over the state values the request carried."""
    return _new_tuple(AddressStorage, (function.state_types, received, {}, function.typename))


_new_tuple = tuple.__new__


def written_values(storage: AddressStorage) -> dict[str, bytes | None]:
    """The states written or deleted during the batch, in declaration order."""
    written: dict[str, bytes | None] = storage[2]
    if len(written) < 2:
        return written
    return {name: written[name] for name in storage[0] if name in written}


def state_types(storage: AddressStorage) -> dict[str, Type[Any]]:
    """The type of each declared state, by name."""
    types: dict[str, Type[Any]] = storage[0]
    return types
