"""The one place that imports the generated protobuf classes."""

from statefun_faas._proto.kafka_egress_pb2 import KafkaProducerRecord
from statefun_faas._proto.kinesis_egress_pb2 import KinesisEgressRecord
from statefun_faas._proto.request_reply_pb2 import Address, FromFunction, ToFunction, TypedValue
from statefun_faas._proto.types_pb2 import (
    BooleanWrapper,
    DoubleWrapper,
    FloatWrapper,
    IntWrapper,
    LongWrapper,
    StringWrapper,
)

__all__ = [
    "Address",
    "BooleanWrapper",
    "DoubleWrapper",
    "FloatWrapper",
    "FromFunction",
    "IntWrapper",
    "KafkaProducerRecord",
    "KinesisEgressRecord",
    "LongWrapper",
    "StringWrapper",
    "ToFunction",
    "TypedValue",
]
