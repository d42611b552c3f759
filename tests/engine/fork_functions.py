"""Functions ``test_forks.py`` serves with ``statefun-faas serve tests/engine/fork_functions.py``.

They carry what the Flink 2.x forks of StateFun add to the protocol, in fields StateFun 3.3.0 and
this SDK do not know, to see what becomes of them (``$FORKS_OUT_TOPIC``: the egress topic):

- ``forks/origin`` (the Kafka ingress's target) sends the record's text on to ``forks/relay`` as a
  ``forks/note`` whose TypedValue also carries :data:`UNKNOWN`: a header in field 4, as
  io.github.kzmlabs.flinkstatefun carries Kafka headers in its TypedValue metadata, and field 99.
- ``forks/relay`` forwards the value it received, as it is, to ``forks/report``.
- ``forks/report`` writes ``<id>:<text>:<hex of the TypedValue's fields beyond typename, has_value
  and value>`` to the Kafka egress ``forks/out``, keyed by the id, in a KafkaProducerRecord that also
  carries :data:`HEADERS`, that fork's headers (field 4).
"""

from __future__ import annotations

import os

from statefun_faas import Context, EgressMessage, Message, StatefulFunctions, _wire
from statefun_faas.messages import KAFKA_PRODUCER_RECORD_TYPENAME

EGRESS = "forks/out"
NOTE_TYPE = "forks/note"

# A header as io.github.kzmlabs.flinkstatefun writes one: key 1, value 2, has_value 3.
_HEADER = b"\x0a\x0btraceparent" + b"\x12\x0600-abc" + b"\x18\x01"
UNKNOWN = b"\x22" + bytes([len(_HEADER)]) + _HEADER + b"\x98\x06\x07"  # TypedValue field 4, then field 99 = 7
HEADERS = b"\x22" + bytes([len(_HEADER)]) + _HEADER  # KafkaProducerRecord field 4: one header

functions = StatefulFunctions()


@functions.bind("forks/origin")
def origin(context: Context, message: Message) -> None:
    note = _wire.TypedValue(typename=NOTE_TYPE, has_value=True, value=message.raw_value() or b"")
    carried = _wire.TypedValue.FromString(note.SerializeToString() + UNKNOWN)
    context.send(Message("forks/relay", context.address.id, carried))


@functions.bind("forks/relay")
def relay(context: Context, message: Message) -> None:
    context.send(Message("forks/report", context.address.id, message.typed_value))


def beyond_known_fields(typed_value: _wire.TypedValue) -> bytes:
    """The serialized fields of ``typed_value`` other than typename, has_value and value."""
    rest = _wire.TypedValue()
    rest.CopyFrom(typed_value)
    for name in ("typename", "has_value", "value"):
        rest.ClearField(name)
    return rest.SerializeToString()


@functions.bind("forks/report")
def report(context: Context, message: Message) -> None:
    text = (message.raw_value() or b"").decode("utf-8")
    value = f"{context.address.id}:{text}:{beyond_known_fields(message.typed_value).hex()}"
    topic = os.environ.get("FORKS_OUT_TOPIC", "forks-out")
    record = _wire.KafkaProducerRecord(topic=topic, key=context.address.id, value_bytes=value.encode())
    payload = record.SerializeToString() + HEADERS
    typed = _wire.TypedValue(typename=KAFKA_PRODUCER_RECORD_TYPENAME, has_value=True, value=payload)
    context.send_egress(EgressMessage(EGRESS, typed))
