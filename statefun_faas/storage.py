"""Address-scoped state: one cell per declared ValueSpec, reachable as attributes."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from statefun_faas import _wire
from statefun_faas.errors import ConfigurationError, StateTypeMismatchError
from statefun_faas.types import Type

if TYPE_CHECKING:
    from statefun_faas.functions import ValueSpec


class Cell:
    """The value of one state during a batch.

    ``received`` is what the request carried; once the function writes or deletes the state,
    ``dirty`` is set and ``written`` holds the new value's bytes (``None``: deleted).
    """

    __slots__ = ("dirty", "name", "received", "type", "written")

    def __init__(self, name: str, value_type: Type[Any], received: _wire.TypedValue | None) -> None:
        self.name = name
        self.type = value_type
        self.received = received
        self.written: bytes | None = None
        self.dirty = False

    def get(self) -> Any:
        if self.dirty:
            written = self.written
            return None if written is None else self.type._decode(written)
        typed_value = self.received
        if typed_value is None or not typed_value.has_value:
            return None
        if typed_value.typename != self.type.typename:
            raise StateTypeMismatchError(self.name, self.type.typename, typed_value.typename)
        return self.type._decode(typed_value.value)

    def set(self, value: Any) -> None:
        if value is None:
            raise ConfigurationError(
                f"can not store None in state {self.name!r}; to delete it use: del context.storage.{self.name}"
            )
        self.written = self.type._encode(value)
        self.dirty = True

    def delete(self) -> None:
        self.written = None
        self.dirty = True


class AddressStorage:
    """``context.storage``: each declared state is an attribute; read, assign or ``del`` it."""

    # Capitalised so that no (lower-case) state name can shadow them.
    __slots__ = ("_Cells", "_Typename")

    _Cells: dict[str, Cell]
    _Typename: str

    def __init__(self, typename: str, cells: dict[str, Cell]) -> None:
        object.__setattr__(self, "_Cells", cells)
        object.__setattr__(self, "_Typename", typename)

    def _missing(self, name: str) -> AttributeError:
        declared = ", ".join(self._Cells) or "none"
        return AttributeError(
            f"{name!r} is not a ValueSpec of function {self._Typename!r} (declared: {declared}); "
            f"add ValueSpec({name!r}, ...) to its specs"
        )

    def __getattribute__(self, name: str) -> Any:
        # Looked up before the normal attribute machinery: a plain __getattr__ would first
        # build and throw away an AttributeError on every state read.
        cell = _cells_of(self).get(name)
        if cell is None:
            return object.__getattribute__(self, name)
        return cell.get()

    def __getattr__(self, name: str) -> Any:
        raise self._missing(name)

    def __setattr__(self, name: str, value: Any) -> None:
        cell = self._Cells.get(name)
        if cell is None:
            raise self._missing(name)
        cell.set(value)

    def __delattr__(self, name: str) -> None:
        cell = self._Cells.get(name)
        if cell is None:
            raise self._missing(name)
        cell.delete()

    def __dir__(self) -> list[str]:
        return list(self._Cells)


_cells_of = AddressStorage._Cells.__get__  # type: ignore[attr-defined,misc]


def resolve(specs: list[ValueSpec], received: Mapping[str, _wire.TypedValue]) -> list[ValueSpec] | dict[str, Cell]:
    """The specs missing from ``received`` in declaration order, or one cell per spec when none is."""
    cells = {}
    for spec in specs:
        value = received.get(spec.name, _ABSENT)
        if value is _ABSENT:
            return [spec for spec in specs if spec.name not in received]
        cells[spec.name] = Cell(spec.name, spec.type, value)
    return cells


_ABSENT: Any = object()
