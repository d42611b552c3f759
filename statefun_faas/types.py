"""The StateFun cross-language type system: typenames plus serializers."""

from __future__ import annotations

import abc
from collections.abc import Callable
from typing import Any, Generic, Protocol, TypeVar

from statefun_faas import _wire
from statefun_faas._codecs import BoolSerializer, FixedIntSerializer, StringSerializer, WrapperSerializer
from statefun_faas._serializer import TypeSerializer as TypeSerializer
from statefun_faas.errors import ConfigurationError

T = TypeVar("T")

PROTOBUF_NAMESPACE = "type.googleapis.com"


def split_typename(typename: str, what: str = "typename") -> tuple[str, str]:
    """Split ``namespace/name``; the StateFun runtime accepts exactly one ``/`` with text on both sides."""
    if type(typename) is not str:
        raise ConfigurationError(f"{what} must be a string of the form 'namespace/name', got {typename!r}")
    known = _SPLIT.get(typename)
    if known is not None:
        return known
    parts = typename.split("/")
    if len(parts) != 2 or not parts[0] or not parts[1]:
        raise ConfigurationError(
            f"invalid {what} {typename!r}: it must be 'namespace/name' with exactly one '/' "
            f"and text on both sides, e.g. 'com.example/greeter'"
        )
    if len(_SPLIT) >= _SPLIT_LIMIT:
        _SPLIT.clear()
    known = _SPLIT[typename] = (parts[0], parts[1])
    return known


# Typenames are few (the application's functions and egresses) and split on every message.
_SPLIT: dict[str, tuple[str, str]] = {}
_SPLIT_LIMIT = 4096


class Type(abc.ABC, Generic[T]):
    """A StateFun value type: a typename and a serializer."""

    __slots__ = ("_decode", "_encode", "typename")

    def __init__(self, typename: str) -> None:
        if not typename:
            raise ConfigurationError("typename can not be missing")
        self.typename = typename
        # The handler's hot path calls these; subclasses with a fixed serializer bind them
        # straight to it, saving the serializer() call per value.
        self._encode: Callable[[T], bytes] = lambda value: self.serializer().serialize(value)
        self._decode: Callable[[bytes], T] = lambda data: self.serializer().deserialize(data)

    @abc.abstractmethod
    def serializer(self) -> TypeSerializer[T]:
        """Return the serializer of this type."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.typename!r})"


class _CallableSerializer(TypeSerializer[T]):
    __slots__ = ("_deserialize", "_serialize")

    def __init__(self, serialize_fn: Callable[[T], bytes], deserialize_fn: Callable[[bytes], T]) -> None:
        self._serialize = serialize_fn
        self._deserialize = deserialize_fn

    def serialize(self, value: T) -> bytes:
        return self._serialize(value)

    def deserialize(self, byte: bytes) -> T:
        return self._deserialize(byte)


class SimpleType(Type[T]):
    """A type made of two functions; see :func:`simple_type`."""

    __slots__ = ("_serializer",)

    def __init__(self, typename: str, serialize_fn: Callable[[T], bytes], deserialize_fn: Callable[[bytes], T]) -> None:
        super().__init__(typename)
        if not callable(serialize_fn):
            raise ConfigurationError(f"type {typename!r}: serialize_fn must be a function, got {serialize_fn!r}")
        if not callable(deserialize_fn):
            raise ConfigurationError(f"type {typename!r}: deserialize_fn must be a function, got {deserialize_fn!r}")
        self._serializer = _CallableSerializer(serialize_fn, deserialize_fn)
        self._encode, self._decode = serialize_fn, deserialize_fn

    def serializer(self) -> TypeSerializer[T]:
        return self._serializer


def simple_type(typename: str, serialize_fn: Callable[[T], bytes], deserialize_fn: Callable[[bytes], T]) -> Type[T]:
    """Make a type from a serialize function and a deserialize function."""
    return SimpleType(typename, serialize_fn, deserialize_fn)


class PrimitiveType(Type[T]):
    """A built-in type whose bytes are a one-field protobuf wrapper message."""

    __slots__ = ("_serializer",)

    def __init__(
        self,
        typename: str,
        serializer: TypeSerializer[T],
    ) -> None:
        super().__init__(typename)
        self._serializer = serializer
        self._encode, self._decode = self._serializer.serialize, self._serializer.deserialize

    def serializer(self) -> TypeSerializer[T]:
        return self._serializer


BoolType: Type[bool] = PrimitiveType("io.statefun.types/bool", BoolSerializer())
IntType: Type[int] = PrimitiveType("io.statefun.types/int", FixedIntSerializer(_wire.IntWrapper, "<i"))
FloatType: Type[float] = PrimitiveType("io.statefun.types/float", WrapperSerializer(_wire.FloatWrapper))
LongType: Type[int] = PrimitiveType("io.statefun.types/long", FixedIntSerializer(_wire.LongWrapper, "<q"))
DoubleType: Type[float] = PrimitiveType("io.statefun.types/double", WrapperSerializer(_wire.DoubleWrapper))
StringType: Type[str] = PrimitiveType("io.statefun.types/string", StringSerializer())


def _json_bytes(value: Any) -> bytes:
    import json

    return json.dumps(value, ensure_ascii=False).encode("utf-8")


def _json_value(data: bytes) -> Any:
    import json

    return json.loads(data)


def make_json_type(typename: str) -> Type[Any]:
    """Make a type whose bytes are the UTF-8 JSON text of the value."""
    return simple_type(typename, _json_bytes, _json_value)


class _ProtobufMessage(Protocol):
    DESCRIPTOR: Any

    def SerializeToString(self) -> bytes: ...  # noqa: N802 (protobuf's name)

    def ParseFromString(self, data: bytes) -> int: ...  # noqa: N802 (protobuf's name)


M = TypeVar("M", bound=_ProtobufMessage)


def make_protobuf_type(cls: type[M], namespace: str | None = None) -> Type[M]:
    """Make a type for a generated protobuf message class.

    The typename is ``type.googleapis.com/<full message name>`` unless ``namespace`` is given.
    """
    if not cls:
        raise ConfigurationError("the generated protobuf message class is missing")
    name = cls.DESCRIPTOR.full_name
    if not name:
        raise ConfigurationError(f"can not find the protobuf full name of {cls!r}")

    def parse(data: bytes) -> M:
        message = cls()
        message.ParseFromString(data)
        return message

    def serialize(message: M) -> bytes:
        return message.SerializeToString()

    return simple_type(f"{namespace or PROTOBUF_NAMESPACE}/{name}", serialize, parse)


def to_typed_value(value_type: Type[T], value: T | None) -> _wire.TypedValue:
    """Wrap a value as a TypedValue; ``None`` gives a TypedValue without a value."""
    typed_value = _wire.TypedValue()  # field by field: faster than keywords in upb
    typed_value.typename = value_type.typename
    if value is not None:
        typed_value.has_value = True
        typed_value.value = value_type._encode(value)
    return typed_value
