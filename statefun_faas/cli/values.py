"""Values for people: the CLI's ``send`` encodes text, ``state`` and ``dead-letters`` decode bytes."""

from __future__ import annotations

import json
from typing import Any

from statefun_faas.runtime.records import AFTER_INVOKE, AFTER_WRITE, Spec
from statefun_faas.types import BoolType, DoubleType, FloatType, IntType, LongType, StringType, Type

PRIMITIVES: dict[str, Type[Any]] = {
    t.typename: t for t in (BoolType, IntType, LongType, FloatType, DoubleType, StringType)
}


def _parse(typename: str, text: str) -> Any:
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


def decode(typename: str, data: bytes) -> str:
    """Primitives decoded, JSON and text shown as text, anything else as hex."""
    value_type = PRIMITIVES.get(typename)
    if value_type is not None:
        try:
            return json.dumps(value_type.serializer().deserialize(data), ensure_ascii=False)
        except Exception:  # bytes that do not match their type are shown raw
            return f"0x{data.hex()} (not a valid {typename})"
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return f"0x{data.hex()}"


def describe(spec: Spec) -> str:
    if spec.expire_mode == AFTER_WRITE:
        return f"{spec.typename}, expires {spec.expire_ms} ms after write"
    if spec.expire_mode == AFTER_INVOKE:
        return f"{spec.typename}, expires {spec.expire_ms} ms after invoke"
    return spec.typename
