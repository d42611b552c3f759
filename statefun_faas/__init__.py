"""statefun-faas: Apache Flink StateFun 3.x remote functions, served from FaaS platforms.

The public names are those of the ``statefun`` package of apache-flink-statefun 3.3, so a
module moves over by changing its imports to ``statefun_faas``.
"""

from statefun_faas.context import Context, SdkAddress
from statefun_faas.errors import (
    BadRequestError,
    ConfigurationError,
    FunctionInvocationError,
    StatefunFaasError,
    StateTypeMismatchError,
    UnknownFunctionError,
)
from statefun_faas.functions import StatefulFunctions, ValueSpec
from statefun_faas.handler import RequestReplyHandler
from statefun_faas.messages import (
    EgressMessage,
    Message,
    egress_message_builder,
    kafka_egress_message,
    kinesis_egress_message,
    message_builder,
)
from statefun_faas.types import (
    BoolType,
    DoubleType,
    FloatType,
    IntType,
    LongType,
    StringType,
    Type,
    TypeSerializer,
    make_json_type,
    make_protobuf_type,
    simple_type,
)

__version__ = "0.1.0"

__all__ = [
    "BadRequestError",
    "BoolType",
    "ConfigurationError",
    "Context",
    "DoubleType",
    "EgressMessage",
    "FloatType",
    "FunctionInvocationError",
    "IntType",
    "LongType",
    "Message",
    "RequestReplyHandler",
    "SdkAddress",
    "StateTypeMismatchError",
    "StatefulFunctions",
    "StatefunFaasError",
    "StringType",
    "Type",
    "TypeSerializer",
    "UnknownFunctionError",
    "ValueSpec",
    "egress_message_builder",
    "kafka_egress_message",
    "kinesis_egress_message",
    "make_json_type",
    "make_protobuf_type",
    "message_builder",
    "simple_type",
]
