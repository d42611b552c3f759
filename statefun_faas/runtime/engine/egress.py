"""Egress bindings: how a function's egress message becomes a stored record (topic + payload)."""

from __future__ import annotations

import asyncio
import contextlib
import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol

from google.protobuf.message import DecodeError

from statefun_faas import _wire
from statefun_faas.messages import KAFKA_PRODUCER_RECORD_TYPENAME, KINESIS_EGRESS_RECORD_TYPENAME
from statefun_faas.runtime.records import EgressRecord, ProtocolViolationError, Value

if TYPE_CHECKING:
    from statefun_faas.runtime.store.database import Store

PLAYGROUND_RECORD = "io.statefun.playground/EgressRecord"


class EgressBinding(Protocol):
    def record(self, egress_id: str, argument: Value) -> tuple[str, bytes]:
        """The topic and payload to store; raises ProtocolViolationError for a record it can not take."""


class AnyEgress:
    """Keeps the argument's bytes as they are, with no topic (the tester's default)."""

    def record(self, egress_id: str, argument: Value) -> tuple[str, bytes]:
        return "", argument.data or b""


class PlaygroundEgress:
    """``io.statefun.playground.v1/egress``: JSON ``{"topic", "payload"}`` records to declared topics."""

    def __init__(self, topics: tuple[str, ...] | None) -> None:
        self.topics = topics  # None: any topic (the tester, which has no module.yaml)

    def record(self, egress_id: str, argument: Value) -> tuple[str, bytes]:
        if argument.typename != PLAYGROUND_RECORD:
            raise ProtocolViolationError(
                f"egress {egress_id!r} takes {PLAYGROUND_RECORD} records, got {argument.typename!r}"
            )
        try:
            record = json.loads(argument.data or b"")
            topic, payload = record["topic"], record["payload"]
        except (ValueError, TypeError, KeyError):
            raise ProtocolViolationError(
                f'egress {egress_id!r}: the record is not JSON {{"topic": ..., "payload": ...}}'
            ) from None
        if not isinstance(topic, str) or (self.topics is not None and topic not in self.topics):
            raise ProtocolViolationError(
                f"egress {egress_id!r}: topic {topic!r} is not declared (topics: {self.topics})"
            )
        text = payload if isinstance(payload, str) else json.dumps(payload)
        return topic, text.encode("utf-8")


@dataclass(frozen=True)
class RecordEgress:
    """A Kafka or Kinesis egress: keeps the whole record (KafkaProducerRecord, KinesisEgressRecord) under its
    topic or stream, bound to a broker (its forwarder sends the record) or to local topics (read back as the
    record's value, see :func:`stored_value`) alike, so records stored in one run are delivered right in
    the next either way."""

    typename: str
    cls: Any  # the record's protobuf class
    destination: str  # the record's field naming its topic or stream

    def record(self, egress_id: str, argument: Value) -> tuple[str, bytes]:
        if argument.typename != self.typename:
            raise ProtocolViolationError(
                f"egress {egress_id!r} takes {self.typename} records, got {argument.typename!r}"
            )
        try:
            record = self.cls.FromString(argument.data or b"")
        except DecodeError:
            raise ProtocolViolationError(f"egress {egress_id!r}: the record is not a valid {self.typename}") from None
        destination = getattr(record, self.destination)
        if not destination:
            raise ProtocolViolationError(f"egress {egress_id!r}: the {self.cls.__name__} names no {self.destination}")
        return destination, argument.data or b""


# io.statefun.kafka.v1/egress and io.statefun.kinesis.v1/egress
KAFKA_RECORDS = RecordEgress(KAFKA_PRODUCER_RECORD_TYPENAME, _wire.KafkaProducerRecord, "topic")
KINESIS_RECORDS = RecordEgress(KINESIS_EGRESS_RECORD_TYPENAME, _wire.KinesisEgressRecord, "stream")
_RECORD_CLASSES: dict[str, Any] = {kind.typename: kind.cls for kind in (KAFKA_RECORDS, KINESIS_RECORDS)}


def stored_value(record: EgressRecord) -> bytes:
    """What a local reader gets of a stored record: the value of a Kafka or Kinesis record, else the payload."""
    cls = _RECORD_CLASSES.get(record.typename)
    if cls is None:
        return record.payload
    try:
        return bytes(cls.FromString(record.payload).value_bytes)
    except DecodeError:  # not a whole record: stored as a bare value (by a release before the records were kept)
        return record.payload


class Doorbell:
    """Wakes the forwarders of the egresses whose records a commit just stored (a router sink, see
    :meth:`ring`), so a record leaves for its broker at once rather than at the forwarder's next look."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def ring(self, record: EgressRecord) -> None:
        event = self._events.get(record.egress_id)
        if event is not None:
            event.set()

    def event(self, egress_id: str) -> asyncio.Event:
        return self._events.setdefault(egress_id, asyncio.Event())


async def oldest_records(
    store: Store, egress_id: str, idle_s: float, limit: int, doorbell: Doorbell | None = None
) -> list[tuple[int, EgressRecord]]:
    """Up to ``limit`` of the oldest stored records of an egress with their seqs (to delete once
    delivered), once there is one: looked for every ``idle_s`` seconds, and at once when ``doorbell`` rings."""
    event = doorbell.event(egress_id) if doorbell is not None else asyncio.Event()
    while True:
        event.clear()  # before the look: a record stored after it rings again
        found = store.peek_egress(egress_id, limit)
        if found:
            return found
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(event.wait(), idle_s)
