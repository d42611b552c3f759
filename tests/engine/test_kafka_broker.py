"""The real Kafka broker fixture: topics, keyed records in and out, a restart that keeps the data."""

from __future__ import annotations

import pytest

from tests.engine.kafka import KafkaBroker

pytestmark = pytest.mark.engine


def test_keyed_records_come_back_in_order_per_partition(kafka_broker: KafkaBroker) -> None:
    kafka_broker.create_topics("broker-roundtrip", partitions=2)
    kafka_broker.produce("broker-roundtrip", [("alice", b"1"), ("bob", b"2"), ("alice", b"3")])
    kafka_broker.produce("broker-roundtrip", [("carol", "ü".encode())], partition=1)
    records = kafka_broker.consume("broker-roundtrip", count=4)
    by_key = {key: [r.value for r in records if r.key == key] for key in ("alice", "bob", "carol")}
    assert by_key == {"alice": [b"1", b"3"], "bob": [b"2"], "carol": ["ü".encode()]}
    assert len(records) == 4
    assert {r.partition for r in records if r.key == "carol"} == {1}
    assert len({r.partition for r in records if r.key == "alice"}) == 1  # one key, one partition


def test_a_missing_topic_is_an_error_not_an_empty_read(kafka_broker: KafkaBroker) -> None:
    with pytest.raises(AssertionError, match="does not exist"):
        kafka_broker.consume("broker-never-created", count=1, timeout=2)


def test_a_restarted_broker_keeps_its_records(fresh_kafka_broker: KafkaBroker) -> None:
    fresh_kafka_broker.create_topics("broker-durable")
    fresh_kafka_broker.produce("broker-durable", [("k", b"before")])
    port = fresh_kafka_broker.port
    fresh_kafka_broker.stop()
    fresh_kafka_broker.start()
    fresh_kafka_broker.produce("broker-durable", [("k", b"after")])
    assert fresh_kafka_broker.port == port
    assert [r.value for r in fresh_kafka_broker.consume("broker-durable", count=2)] == [b"before", b"after"]
