"""Values for people: the CLI's ``send`` encodes text, ``state`` and ``dead-letters`` decode bytes (with the
runtime's console, in statefun_faas.runtime.values)."""

from __future__ import annotations

from statefun_faas.runtime.values import PRIMITIVES, decode, describe
from statefun_faas.types import BoolType, DoubleType, FloatType, IntType, LongType

__all__ = ["decode", "describe", "encode"]


def _parse(typename: str, text: str) -> bool | int | float | str:
    if typename == BoolType.typename:
        if text.lower() not in ("true", "false"):
            raise ValueError(f"{typename} takes true or false, got {text!r}")
        return text.lower() == "true"
    if typename in (IntType.typename, LongType.typename):
        return int(text)
    if typename in (FloatType.typename, DoubleType.typename):
        return float(text)
    return text


def encode(typename: str, text: str) -> bytes:
    """Primitive typenames get their wrapper encoding; any other type gets the text's UTF-8 bytes."""
    value_type = PRIMITIVES.get(typename)
    if value_type is None:
        return text.encode("utf-8")
    try:
        return value_type.serializer().serialize(_parse(typename, text))
    except ValueError as error:
        raise ValueError(f"can not send {text!r} as {typename}: {error}") from None
