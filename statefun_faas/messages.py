"""Messages between functions, and records for egresses."""

from __future__ import annotations

import struct
from typing import Any, Protocol, TypeVar

from statefun_faas import _wire
from statefun_faas.errors import ConfigurationError
from statefun_faas.types import (
    BoolType,
    DoubleType,
    FloatType,
    IntType,
    LongType,
    StringType,
    Type,
    split_typename,
)

T = TypeVar("T")

KAFKA_PRODUCER_RECORD_TYPENAME = "type.googleapis.com/io.statefun.sdk.egress.KafkaProducerRecord"
KINESIS_EGRESS_RECORD_TYPENAME = "type.googleapis.com/io.statefun.sdk.egress.KinesisEgressRecord"


# Message and EgressMessage hold their value in these slots. A message received, or made by
# the user from a TypedValue, holds that TypedValue. One built here (message_builder,
# egress_message_builder) holds the typename and the bytes, _typed_value None, until the
# response is built: writing them straight into the response's own TypedValue (write_value)
# saves building one more protobuf message and copying it. typed_value builds one on demand.
_VALUE_SLOTS = ("_typed_value", "_value", "_value_typename")


class _Carrier(Protocol):
    _typed_value: _wire.TypedValue | None
    _value: bytes
    _value_typename: str


def _hold(item: _Carrier, value_type: Type[Any], value: Any) -> None:
    item._typed_value = None
    item._value_typename = value_type.typename
    item._value = value_type._encode(value)


def _typed_value(item: _Carrier) -> _wire.TypedValue:
    typed_value = item._typed_value
    if typed_value is None:
        typed_value = item._typed_value = _wire.TypedValue()
        typed_value.typename = item._value_typename
        typed_value.has_value = True
        typed_value.value = item._value
    return typed_value


def write_value(item: Message | EgressMessage, argument: _wire.TypedValue) -> None:
    """Fill ``argument`` (a field of the response) with the value ``item`` carries."""
    typed_value = item._typed_value
    if typed_value is None:
        argument.typename = item._value_typename
        argument.has_value = True
        argument.value = item._value
    else:
        argument.CopyFrom(typed_value)


class Message:
    """A message to or from a function: a target address and a typed value."""

    __slots__ = ("target_id", "target_typename", *_VALUE_SLOTS)

    _typed_value: _wire.TypedValue | None
    _value: bytes
    _value_typename: str

    def __init__(self, target_typename: str, target_id: str, typed_value: _wire.TypedValue) -> None:
        if not target_typename:
            raise ConfigurationError("target_typename can not be missing")
        if not target_id:
            raise ConfigurationError("target_id can not be missing")
        if typed_value is None:
            raise ConfigurationError("typed_value can not be missing")
        self.target_typename = target_typename
        self.target_id = target_id
        self._typed_value = typed_value

    @classmethod
    def incoming(cls, target_typename: str, target_id: str, typed_value: _wire.TypedValue) -> Message:
        """A message as the handler received it: already valid, so built without checks."""
        return received_message(target_typename, target_id, typed_value, cls)

    def is_type(self, tpe: Type[Any]) -> bool:
        typed_value = self._typed_value
        if typed_value is None:
            return bool(self._value_typename == tpe.typename)
        return bool(typed_value.typename == tpe.typename)

    def as_type(self, tpe: Type[T]) -> T | None:
        """Decode the value with ``tpe``; ``None`` when the message carries no value."""
        typed_value = self._typed_value
        if typed_value is None:
            return tpe._decode(self._value)
        if not typed_value.has_value:
            return None
        return tpe._decode(typed_value.value)

    @property
    def typed_value(self) -> _wire.TypedValue:
        """The value as the wire carries it."""
        return _typed_value(self)

    def value_typename(self) -> str:
        return str(self.typed_value.typename)

    def raw_value(self) -> bytes | None:
        typed_value = self.typed_value
        return bytes(typed_value.value) if typed_value.has_value else None

    def is_bool(self) -> bool:
        return self.is_type(BoolType)

    def as_bool(self) -> bool | None:
        return self.as_type(BoolType)

    def is_int(self) -> bool:
        return self.is_type(IntType)

    def as_int(self) -> int | None:
        return self.as_type(IntType)

    def is_long(self) -> bool:
        return self.is_type(LongType)

    def as_long(self) -> int | None:
        return self.as_type(LongType)

    def is_float(self) -> bool:
        return self.is_type(FloatType)

    def as_float(self) -> float | None:
        return self.as_type(FloatType)

    def is_double(self) -> bool:
        return self.is_type(DoubleType)

    def as_double(self) -> float | None:
        return self.as_type(DoubleType)

    def is_string(self) -> bool:
        return self.is_type(StringType)

    def as_string(self) -> str | None:
        return self.as_type(StringType)

    def __repr__(self) -> str:
        return f"Message(target={self.target_typename}/{self.target_id}, typename={self.value_typename()!r})"


class EgressMessage:
    """A record for the egress whose id (``namespace/name``) is ``typename``."""

    __slots__ = ("egress_namespace", "egress_type", "typename", *_VALUE_SLOTS)

    _typed_value: _wire.TypedValue | None
    _value: bytes
    _value_typename: str

    def __init__(self, typename: str, typed_value: _wire.TypedValue) -> None:
        #: the two halves of the egress id, as the wire carries them
        self.egress_namespace, self.egress_type = split_typename(typename, "egress typename")
        if typed_value is None:
            raise ConfigurationError("typed_value can not be missing")
        self.typename = typename
        self._typed_value = typed_value

    @property
    def typed_value(self) -> _wire.TypedValue:
        """The value as the wire carries it."""
        return _typed_value(self)

    def value_typename(self) -> str:
        return str(self.typed_value.typename)

    def raw_value(self) -> bytes | None:
        typed_value = self.typed_value
        return bytes(typed_value.value) if typed_value.has_value else None


_new = object.__new__  # builds a message without the checks its constructor makes for users


def received_message(
    target_typename: str, target_id: str, typed_value: _wire.TypedValue, cls: type[Message] = Message
) -> Message:
    """:meth:`Message.incoming` as a plain function, cheaper to call on the handler's hot path."""
    message: Message = _new(cls)
    message.target_typename = target_typename
    message.target_id = target_id
    message._typed_value = typed_value
    return message


_PRIMITIVE_KEYWORDS: dict[str, Type[Any]] = {
    "int_value": IntType,
    "float_value": FloatType,
    "long_value": LongType,
    "str_value": StringType,
    "double_value": DoubleType,
    "bool_value": BoolType,
}

_BUILDER_USAGE = (
    "pass exactly one of "
    + ", ".join(f"{k}=..." for k in _PRIMITIVE_KEYWORDS)
    + ", or both value=... and value_type=..."
)


def _value_and_type(kwargs: dict[str, Any]) -> tuple[Any, Type[Any]]:
    if len(kwargs) == 1 and next(iter(kwargs)) in _PRIMITIVE_KEYWORDS:
        keyword, value = next(iter(kwargs.items()))
        value_type = _PRIMITIVE_KEYWORDS[keyword]
    elif len(kwargs) == 2 and "value" in kwargs and "value_type" in kwargs:
        value, value_type = kwargs["value"], kwargs["value_type"]
    else:
        raise TypeError(f"message_builder got {sorted(kwargs)}: {_BUILDER_USAGE}")
    if value is None:
        raise ConfigurationError("value can not be missing (None)")
    if not isinstance(value_type, Type):
        raise TypeError(f"value_type must be a statefun_faas Type, got {value_type!r}")
    return value, value_type


def message_builder(target_typename: str, target_id: str, **kwargs: Any) -> Message:
    """Build a message for the function ``target_typename`` with id ``target_id``.

    The value is given as one of ``int_value``, ``float_value``, ``long_value``,
    ``str_value``, ``double_value``, ``bool_value``, or as ``value`` with ``value_type``.
    """
    split_typename(target_typename, "target typename")
    value_type: Type[Any] | None = None
    if len(kwargs) == 1:  # the common case, one primitive keyword, without the helper's checks
        keyword, value = next(iter(kwargs.items()))
        if value is not None:
            value_type = _PRIMITIVE_KEYWORDS.get(keyword)
    if value_type is None:  # anything else, errors included, goes through the helper
        value, value_type = _value_and_type(kwargs)
    if not target_id:
        raise ConfigurationError("target_id can not be missing")
    message = _new(Message)
    message.target_typename = target_typename
    message.target_id = target_id
    _hold(message, value_type, value)
    return message


def egress_message_builder(target_typename: str, value: T, value_type: Type[T]) -> EgressMessage:
    """Build a record for a generic egress (e.g. the playground egress)."""
    if not target_typename:
        raise ConfigurationError("target typename is missing")
    if value is None:
        raise ConfigurationError("value can not be missing (None)")
    message = _new(EgressMessage)
    message.egress_namespace, message.egress_type = split_typename(target_typename, "egress typename")
    message.typename = target_typename
    _hold(message, value_type, value)
    return message


def _record_bytes(value: Any, value_type: Type[Any] | None, what: str) -> bytes:
    if value_type is not None:
        return value_type.serializer().serialize(value)
    if isinstance(value, str):
        return value.encode("utf-8")
    if isinstance(value, bytes | bytearray):
        return bytes(value)
    if what == "kafka" and isinstance(value, int):
        return struct.pack(">i", value)  # Kafka's IntegerSerializer (bool too, as the reference does)
    if what == "kafka" and isinstance(value, float):
        return struct.pack(">d", value)  # Kafka's DoubleSerializer
    kinds = "str, bytes, int or float" if what == "kafka" else "str or bytes"
    raise TypeError(f"can not turn {type(value).__name__} into bytes: pass {kinds}, or give value_type")


def _egress_record(typename: str, record_typename: str, record: Any) -> EgressMessage:
    typed_value = _wire.TypedValue(typename=record_typename, has_value=True, value=record.SerializeToString())
    return EgressMessage(typename, typed_value)


def kafka_egress_message(
    typename: str,
    topic: str,
    value: Any,
    value_type: Type[Any] | None = None,
    key: str | None = None,
) -> EgressMessage:
    """Build a record for a Kafka egress declared in module.yaml with id ``typename``."""
    if not topic:
        raise ConfigurationError("the destination Kafka topic is missing")
    if value is None:
        raise ConfigurationError("value can not be missing (None)")
    record = _wire.KafkaProducerRecord(topic=topic, value_bytes=_record_bytes(value, value_type, "kafka"))
    if key is not None:
        record.key = key
    return _egress_record(typename, KAFKA_PRODUCER_RECORD_TYPENAME, record)


def kinesis_egress_message(
    typename: str,
    stream: str,
    value: Any,
    partition_key: str,
    value_type: Type[Any] | None = None,
    explicit_hash_key: str | None = None,
) -> EgressMessage:
    """Build a record for a Kinesis egress declared in module.yaml with id ``typename``."""
    if not stream:
        raise ConfigurationError("the destination Kinesis stream is missing")
    if value is None:
        raise ConfigurationError("value can not be missing (None)")
    if not partition_key:
        raise ConfigurationError("the partition key is missing; Kinesis requires a non-empty one")
    record = _wire.KinesisEgressRecord(
        stream=stream, value_bytes=_record_bytes(value, value_type, "kinesis"), partition_key=partition_key
    )
    if explicit_hash_key is not None:
        record.explicit_hash_key = explicit_hash_key
    return _egress_record(typename, KINESIS_EGRESS_RECORD_TYPENAME, record)
