"""Fixtures for tests against the real engine: Apache Flink StateFun 3.3.0 and a Kafka broker, on loopback.

The fixture API is described in README.md next to this file.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.engine.kafka import KafkaBroker


@pytest.fixture(scope="session")
def kafka_broker(tmp_path_factory: pytest.TempPathFactory) -> Iterator[KafkaBroker]:
    """One broker for the whole session: give each test topics of its own names."""
    broker = KafkaBroker(tmp_path_factory.mktemp("kafka")).start()
    try:
        yield broker
    finally:
        broker.stop()


@pytest.fixture
def fresh_kafka_broker(tmp_path: Path) -> Iterator[KafkaBroker]:
    """A broker of this test alone, for tests that stop and restart it (``stop()``, then ``start()``)."""
    broker = KafkaBroker(tmp_path / "kafka").start()
    try:
        yield broker
    finally:
        broker.stop()
