"""The primitive codecs write protobuf's canonical bytes and read any valid encoding."""

from __future__ import annotations

from typing import Any

import pytest

from statefun_faas import BoolType, DoubleType, FloatType, IntType, LongType, StringType, Type, _wire

# statefun-protocol.md section 1.6
CANONICAL: list[tuple[Type[Any], Any, str]] = [
    (IntType, 42, "0d 2a 00 00 00"),
    (IntType, -1, "0d ff ff ff ff"),
    (IntType, 0, ""),
    (LongType, 1 << 40, "09 00 00 00 00 00 01 00 00"),
    (LongType, -(1 << 63), "09 00 00 00 00 00 00 00 80"),
    (BoolType, True, "08 01"),
    (BoolType, False, ""),
    (FloatType, 0.5, "0d 00 00 00 3f"),
    (DoubleType, 0.5, "09 00 00 00 00 00 00 e0 3f"),
    (StringType, "hi", "0a 02 68 69"),
    (StringType, "", ""),
]


@pytest.mark.parametrize(("value_type", "value", "encoded"), CANONICAL)
def test_canonical_bytes(value_type: Type[Any], value: Any, encoded: str) -> None:
    serializer = value_type.serializer()
    assert serializer.serialize(value) == bytes.fromhex(encoded)
    assert serializer.deserialize(bytes.fromhex(encoded)) == value


WRAPPERS: list[tuple[Type[Any], Any, list[Any]]] = [
    (IntType, _wire.IntWrapper, [0, 1, -1, 2**31 - 1, -(2**31), 127, 128]),
    (LongType, _wire.LongWrapper, [0, 2**63 - 1, -(2**63), 300]),
    (BoolType, _wire.BooleanWrapper, [True, False]),
    (StringType, _wire.StringWrapper, ["", "a", "ü" * 63, "ü" * 64, "x" * 127, "x" * 128, "🙂" * 1000]),
]


@pytest.mark.parametrize(("value_type", "wrapper", "values"), WRAPPERS)
def test_same_bytes_as_protobuf(value_type: Type[Any], wrapper: Any, values: list[Any]) -> None:
    serializer = value_type.serializer()
    for value in values:
        expected = wrapper(value=value).SerializeToString()
        assert serializer.serialize(value) == expected
        assert serializer.deserialize(expected) == value


def test_non_canonical_but_valid_bytes_still_decode() -> None:
    assert IntType.serializer().deserialize(bytes.fromhex("0d 00 00 00 00")) == 0  # explicit zero
    assert IntType.serializer().deserialize(bytes.fromhex("0d 05 00 00 00 18 01")) == 5  # unknown field
    assert BoolType.serializer().deserialize(bytes.fromhex("08 00")) is False
    assert StringType.serializer().deserialize(bytes.fromhex("0a 02 68 69 0a 02 68 6f")) == "ho"  # last wins


def test_out_of_range_fails_like_protobuf() -> None:
    with pytest.raises(ValueError, match=r"out of range|Value"):
        IntType.serializer().serialize(2**31)
    with pytest.raises(ValueError, match=r"out of range|Value"):
        LongType.serializer().serialize(2**63)


def test_bools_in_integer_types_are_their_int() -> None:
    assert IntType.serializer().serialize(True) == bytes.fromhex("0d 01 00 00 00")
