"""Stored values for people: primitives decoded, text shown as text, anything else as hex; a state's spec in words.

Standard library and the core only: the CLI's ``state`` and ``dead-letters`` (base install) and the console use it.
"""

from __future__ import annotations

import json
from typing import Any

from statefun_faas.runtime.records import AFTER_INVOKE, AFTER_WRITE, Spec
from statefun_faas.types import BoolType, DoubleType, FloatType, IntType, LongType, StringType, Type

PRIMITIVES: dict[str, Type[Any]] = {
    t.typename: t for t in (BoolType, IntType, LongType, FloatType, DoubleType, StringType)
}


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
