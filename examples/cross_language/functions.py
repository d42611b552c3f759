"""Sensors and rooms whose messages and state any StateFun SDK can read: primitives, protobuf, JSON.

``xlang/sensor`` (id: the sensor, e.g. ``kitchen-1``) takes readings in degrees Celsius as
``io.statefun.types/double``, keeps its statistics in primitive states and its last report as
a protobuf message, and reports to its room (the id up to the last ``-``) with the protobuf
message ``example.xlang.SensorReport`` (sensors.proto). ``xlang/room`` (id: the room) keeps
the latest reading of each sensor as JSON, answers each sensor whether the room is too warm
(``io.statefun.types/bool``) and writes a JSON room report to an egress: the playground egress
locally (``functions``, module.yaml) or Kafka (``production``, module.prod.yaml).

Every typename and encoding is listed in README.md, so a function written with the Java, Go or
JavaScript SDK can take over either function type together with its state.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from google.protobuf.timestamp_pb2 import Timestamp
from sensors_pb2 import SensorReport

from statefun_faas import (
    BoolType,
    Context,
    DoubleType,
    EgressMessage,
    FloatType,
    IntType,
    LongType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    kafka_egress_message,
    make_json_type,
    make_protobuf_type,
    message_builder,
)

SensorReportType = make_protobuf_type(SensorReport)  # type.googleapis.com/example.xlang.SensorReport
RoomReadingsType = make_json_type("xlang/RoomReadings")  # {"kitchen-1": 21.5, ...}
RoomReportType = make_json_type("xlang/RoomReport")  # the egress record's payload
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")
TOO_WARM = 25.0  # degrees Celsius, the room's average

RoomEgress = Callable[[dict[str, Any]], EgressMessage]

SENSOR_SPECS = [
    ValueSpec("room", StringType),  # io.statefun.types/string
    ValueSpec("readings", LongType),  # io.statefun.types/long
    ValueSpec("total", DoubleType),  # io.statefun.types/double
    ValueSpec("peak", FloatType),  # io.statefun.types/float
    ValueSpec("too_warm", BoolType),  # io.statefun.types/bool
    ValueSpec("last_report", SensorReportType),  # type.googleapis.com/example.xlang.SensorReport
]
ROOM_SPECS = [
    ValueSpec("reports", IntType),  # io.statefun.types/int
    ValueSpec("latest", RoomReadingsType),  # xlang/RoomReadings (JSON)
]


def sensor(context: Context, message: Message) -> None:
    """Count, sum and peak the readings; report each one to the room; remember the room's answer."""
    storage = context.storage
    if message.is_double():
        celsius = message.as_double() or 0.0
        storage.room = storage.room or context.address.id.rpartition("-")[0] or context.address.id
        storage.readings = (storage.readings or 0) + 1
        storage.total = (storage.total or 0.0) + celsius
        storage.peak = celsius if storage.peak is None else max(storage.peak, celsius)
        taken_at = Timestamp()
        taken_at.GetCurrentTime()
        report = SensorReport(sensor=context.address.id, celsius=celsius, readings=storage.readings, taken_at=taken_at)
        storage.last_report = report
        context.send(message_builder("xlang/room", storage.room, value=report, value_type=SensorReportType))
    elif message.is_bool():  # the room's answer
        storage.too_warm = message.as_bool()


def room(context: Context, message: Message, *, room_egress: RoomEgress) -> None:
    """Keep each sensor's latest reading, tell the sensor whether the room is too warm, report the room."""
    if not message.is_type(SensorReportType):
        return
    report = message.as_type(SensorReportType) or SensorReport()
    latest: dict[str, float] = context.storage.latest or {}
    latest[report.sensor] = report.celsius
    context.storage.latest = latest
    context.storage.reports = (context.storage.reports or 0) + 1
    average = sum(latest.values()) / len(latest)
    if context.caller is not None:
        context.send(message_builder(context.caller.typename, context.caller.id, bool_value=average > TOO_WARM))
    summary = {"room": context.address.id, "average": round(average, 2), "sensors": latest}
    context.send_egress(room_egress({**summary, "at": report.taken_at.ToJsonString()}))


def playground_report(report: dict[str, Any]) -> EgressMessage:
    """A room report for the playground egress of module.yaml: topic ``rooms``."""
    record = {"topic": "rooms", "payload": RoomReportType.serializer().serialize(report).decode()}
    return egress_message_builder("io.statefun.playground/egress", record, EgressRecordType)


def kafka_report(report: dict[str, Any]) -> EgressMessage:
    """A room report for the Kafka egress ``xlang/reports`` of module.prod.yaml: topic ``rooms``, keyed by room."""
    return kafka_egress_message("xlang/reports", "rooms", report, RoomReportType, key=report["room"])


def sensors(room_egress: RoomEgress) -> StatefulFunctions:
    functions = StatefulFunctions()
    functions.register("xlang/sensor", sensor, SENSOR_SPECS)
    functions.register("xlang/room", partial(room, room_egress=room_egress), ROOM_SPECS)
    return functions


functions = sensors(playground_report)  # with module.yaml (playground ingress and egress)
production = sensors(kafka_report)  # with module.prod.yaml (Kafka ingress and egress)
