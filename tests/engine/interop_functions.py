"""The statefun-faas side of the cross-language tests: ``statefun-faas serve tests/engine/interop_functions.py``.

The Java function server (``java/sdk``) and the Go one (``go/``) implement the same two functions
with the same typenames and state specs, so either can take over the other's state:

- ``interop/keeper`` keeps one value of each kind of type: ``count`` (``io.statefun.types/int``),
  ``log`` (``io.statefun.types/string``), ``profile`` (the JSON type ``interop/Profile``),
  ``report`` (the protobuf ``SensorReport`` of examples/cross_language/sensors.proto), ``recent``
  (a string that expires :data:`TTL` after it was written) and ``seen`` (an int that expires
  :data:`TTL` after the last call). A command (JSON ``interop/Command``: ``{"text", "peer"}``)
  makes it read every value, write the next ones (each derived from what it read), write
  ``{"by", "id", "read", "wrote"}`` to the Kafka egress ``interop/out`` (topic
  ``$INTEROP_OUT_TOPIC``, keyed by the id), and send four typed messages (the new count as an
  int, the command's text as a string, the profile as JSON, the report as protobuf) to the
  function named by ``peer``, with the same id.
- ``interop/peer-<language>`` (one per language, here ``peer-python``) decodes each message by its
  typename and writes ``{"by", "id", "caller", "typename", "value"}`` to the same egress.

Every value appears in those records as JSON (:func:`report_json` for the protobuf), so the
tests compare what one language wrote with what the other read.
"""

from __future__ import annotations

import json
import os
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

from statefun_faas import (
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    kafka_egress_message,
    make_json_type,
    make_protobuf_type,
    message_builder,
)

sys.path.append(str(Path(__file__).resolve().parents[2]))  # the repository, for the example's generated class
from examples.cross_language.sensors_pb2 import SensorReport

LANGUAGE = "python"
KEEPER = "interop/keeper"
EGRESS = "interop/out"
COMMAND_TYPENAME = "interop/Command"  # the Kafka ingress's valueType: the record's UTF-8 JSON
TTL = timedelta(seconds=6)

CommandType = make_json_type(COMMAND_TYPENAME)
ProfileType = make_json_type("interop/Profile")
ReportType = make_protobuf_type(SensorReport)

KEEPER_SPECS = [
    ValueSpec("count", IntType),
    ValueSpec("log", StringType),
    ValueSpec("profile", ProfileType),
    ValueSpec("report", ReportType),
    ValueSpec("recent", StringType, expire_after_write=TTL),
    ValueSpec("seen", IntType, expire_after_call=TTL),
]


def peer(language: str) -> str:
    return f"interop/peer-{language}"


def report_json(report: SensorReport) -> dict[str, Any]:
    """A SensorReport as the records show it (every language writes the same shape)."""
    taken = {"seconds": report.taken_at.seconds, "nanos": report.taken_at.nanos}
    return {"sensor": report.sensor, "celsius": report.celsius, "readings": report.readings, "taken_at": taken}


def _out(id_: str, record: dict[str, Any]) -> Any:
    topic = os.environ.get("INTEROP_OUT_TOPIC", "interop-out")
    return kafka_egress_message(EGRESS, topic, json.dumps(record, ensure_ascii=False), key=id_)


def keeper(context: Context, message: Message) -> None:
    command = message.as_type(CommandType)
    if not isinstance(command, dict):
        raise ValueError(f"{KEEPER} takes an {COMMAND_TYPENAME} object, got {message.value_typename()!r}: {command!r}")
    storage = context.storage
    count, log, profile, report = storage.count, storage.log, storage.profile, storage.report
    read = {
        "count": count,
        "log": log,
        "profile": profile,
        "report": None if report is None else report_json(report),
        "recent": storage.recent,
        "seen": storage.seen,
    }
    text = command["text"]
    count = (count or 0) + 1
    log = f"{log} " if log else ""
    log += f"{LANGUAGE}:{text}"
    writers = profile["writers"] if profile else []
    profile = {"name": context.address.id, "writers": [*writers, LANGUAGE], "last": text, "score": count * 0.5}
    new = SensorReport(sensor=context.address.id, readings=report.readings + 1 if report else 1)
    new.celsius = report.celsius + 0.25 if report else 20.0
    new.taken_at.seconds = report.taken_at.seconds + 60 if report else 1_700_000_000
    new.taken_at.nanos = (new.readings * 125_000_000) % 1_000_000_000
    storage.count, storage.log, storage.profile, storage.report = count, log, profile, new
    storage.recent, storage.seen = text, count
    wrote = {"count": count, "log": log, "profile": profile, "report": report_json(new), "recent": text, "seen": count}
    record = {"by": LANGUAGE, "id": context.address.id, "read": read, "wrote": wrote}
    context.send_egress(_out(context.address.id, record))
    target, id_ = command["peer"], context.address.id
    context.send(message_builder(target, id_, int_value=count))
    context.send(message_builder(target, id_, str_value=text))
    context.send(message_builder(target, id_, value=profile, value_type=ProfileType))
    context.send(message_builder(target, id_, value=new, value_type=ReportType))


def peer_function(context: Context, message: Message) -> None:
    value: Any
    if message.is_int():
        value = message.as_int()
    elif message.is_string():
        value = message.as_string()
    elif message.is_type(ProfileType):
        value = message.as_type(ProfileType)
    elif message.is_type(ReportType):
        found = message.as_type(ReportType)
        value = None if found is None else report_json(found)
    else:
        raise ValueError(f"{peer(LANGUAGE)}: no type for {message.value_typename()!r}")
    caller = context.caller
    record = {
        "by": LANGUAGE,
        "id": context.address.id,
        "caller": None if caller is None else f"{caller.typename}/{caller.id}",
        "typename": message.value_typename(),
        "value": value,
    }
    context.send_egress(_out(context.address.id, record))


functions = StatefulFunctions()
functions.register(KEEPER, keeper, specs=KEEPER_SPECS)
functions.register(peer(LANGUAGE), peer_function)
