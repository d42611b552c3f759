"""Serializers of the primitive types: the protobuf wrapper messages of types.proto.

The common, canonical encodings (what protobuf itself writes, and what the Java SDK insists
on) are produced and read directly; anything else goes through the generated wrapper class,
so unusual but valid bytes still decode and out-of-range values fail as protobuf fails.
"""

from __future__ import annotations

import operator
import struct
from typing import Any, Protocol, TypeVar

from statefun_faas._serializer import TypeSerializer

T = TypeVar("T")


class _Wrapper(Protocol):
    value: Any

    def SerializeToString(self) -> bytes: ...  # noqa: N802 (protobuf's name)


class WrapperClass(Protocol):
    def __call__(self, *, value: Any = ...) -> _Wrapper: ...

    def FromString(self, data: bytes) -> _Wrapper: ...  # noqa: N802 (protobuf's name)


class WrapperSerializer(TypeSerializer[T]):
    """Any primitive, through its generated wrapper message."""

    __slots__ = ("_wrapper",)

    def __init__(self, wrapper: WrapperClass) -> None:
        self._wrapper = wrapper

    def serialize(self, value: T) -> bytes:
        return self._wrapper(value=value).SerializeToString()

    def deserialize(self, byte: bytes) -> T:
        value: T = self._wrapper.FromString(byte).value
        return value


class FixedIntSerializer(WrapperSerializer[int]):
    """int (sfixed32) and long (sfixed64): field 1, fixed width, little-endian.

    An integer-like value (``True`` included) is stored as the int it stands for: the
    reference SDK's protobuf accepts bools in integer fields, protobuf 7 refuses them.
    """

    __slots__ = ("_pack", "_size", "_struct", "_tag")

    def __init__(self, wrapper: WrapperClass, layout: str) -> None:
        super().__init__(wrapper)
        self._struct = struct.Struct(layout)
        self._size = 1 + self._struct.size
        self._tag = 0x0D if self._struct.size == 4 else 0x09  # field 1, fixed32 / fixed64
        self._pack = struct.Struct(layout[0] + "B" + layout[1:]).pack  # the tag, then the number

    def serialize(self, value: int) -> bytes:
        number = operator.index(value)
        if not number:
            return b""
        try:
            return self._pack(self._tag, number)
        except struct.error:  # out of range: let protobuf raise its own error
            return super().serialize(number)

    def deserialize(self, byte: bytes) -> int:
        if not byte:
            return 0
        if len(byte) == self._size and byte[0] == self._tag:
            number: int = self._struct.unpack_from(byte, 1)[0]
            return number
        return super().deserialize(byte)


class BoolSerializer(TypeSerializer[bool]):
    """bool: ``08 01`` for true, nothing for false."""

    __slots__ = ("_fallback",)

    def __init__(self) -> None:
        from statefun_faas import _wire

        self._fallback: WrapperSerializer[bool] = WrapperSerializer(_wire.BooleanWrapper)

    def serialize(self, value: bool) -> bytes:
        if value is True:
            return b"\x08\x01"
        if value is False:
            return b""
        return self._fallback.serialize(value)

    def deserialize(self, byte: bytes) -> bool:
        if not byte:
            return False
        if byte == b"\x08\x01":
            return True
        return self._fallback.deserialize(byte)


# Field 1, length-delimited, and each one-byte length.
_STRING_PREFIXES = [bytes((0x0A, size)) for size in range(0x80)]


class StringSerializer(TypeSerializer[str]):
    """string: ``0a``, the UTF-8 length as a varint, the UTF-8 bytes (nothing for "")."""

    __slots__ = ("_fallback",)

    def __init__(self) -> None:
        from statefun_faas import _wire

        self._fallback: WrapperSerializer[str] = WrapperSerializer(_wire.StringWrapper)

    def serialize(self, value: str) -> bytes:
        if type(value) is not str:
            return self._fallback.serialize(value)
        data = value.encode("utf-8")
        if len(data) < 0x80:  # a one-byte length; longer strings take protobuf's varint path
            return _STRING_PREFIXES[len(data)] + data if data else b""
        return self._fallback.serialize(value)

    def deserialize(self, byte: bytes) -> str:
        if not byte:
            return ""
        if len(byte) >= 2 and byte[0] == 0x0A and byte[1] == len(byte) - 2:
            return byte[2:].decode("utf-8")
        return self._fallback.deserialize(byte)
