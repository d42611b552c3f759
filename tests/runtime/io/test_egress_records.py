"""Kafka and Kinesis egress records are stored whole, whether the egress is bound to a broker or to local
topics, and read back locally as their values."""

from __future__ import annotations

import pytest

from statefun_faas import _wire, kafka_egress_message, kinesis_egress_message
from statefun_faas.messages import KAFKA_PRODUCER_RECORD_TYPENAME, KINESIS_EGRESS_RECORD_TYPENAME, EgressMessage
from statefun_faas.runtime.engine.egress import (
    KAFKA_RECORDS,
    KINESIS_RECORDS,
    RecordEgress,
    stored_value,
)
from statefun_faas.runtime.records import EgressRecord, ProtocolViolationError, Value


def argument(message: EgressMessage) -> Value:
    return Value(message.value_typename(), message.raw_value())


@pytest.mark.parametrize(
    ("binding", "message", "topic"),
    [
        (KAFKA_RECORDS, kafka_egress_message("test/out", "results", "v1", key="k"), "results"),
        (KINESIS_RECORDS, kinesis_egress_message("test/out", "stream-a", "v1", partition_key="p"), "stream-a"),
    ],
)
def test_the_whole_record_is_stored_and_read_back_as_its_value(
    binding: RecordEgress, message: EgressMessage, topic: str
) -> None:
    value = argument(message)
    stored_topic, payload = binding.record("test/out", value)
    assert (stored_topic, payload) == (topic, value.data)
    assert stored_value(EgressRecord("test/out", topic, value.typename, payload)) == b"v1"


def test_other_records_read_back_as_stored() -> None:
    assert stored_value(EgressRecord("e/x", "t", "io.statefun.playground/EgressRecord", b"payload")) == b"payload"


@pytest.mark.parametrize(
    ("binding", "record", "error"),
    [
        (
            KAFKA_RECORDS,
            Value(KAFKA_PRODUCER_RECORD_TYPENAME, _wire.KafkaProducerRecord(value_bytes=b"v").SerializeToString()),
            "topic",
        ),
        (
            KINESIS_RECORDS,
            Value(KINESIS_EGRESS_RECORD_TYPENAME, _wire.KinesisEgressRecord(value_bytes=b"v").SerializeToString()),
            "stream",
        ),
    ],
)
def test_a_record_without_a_destination_breaks_the_protocol(binding: RecordEgress, record: Value, error: str) -> None:
    """The SDKs refuse to build one; a function written another way may still send it."""
    with pytest.raises(ProtocolViolationError, match=f"names no {error}"):
        binding.record("test/out", record)
