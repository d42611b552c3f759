"""A stand-in Kafka broker for the tests: the smallest server of the Kafka wire protocol that aiokafka's
consumer and producer talk to, one node, topics in memory.

Why a stand-in: no real broker can run on the test machines (no container engine; Kafka is in none of
the package registries they reach, and its jars can not be fetched), so the Kafka binding is tested
against this over real TCP on loopback. It speaks the requests the binding's clients send, each at one
pinned version: ApiVersions, Metadata, ListOffsets, Fetch (long polls up to the client's wait), Produce
(acks 0, 1 or all), and FindCoordinator, OffsetFetch and OffsetCommit for a consumer group with
manually assigned partitions (no group membership). Requests and responses are encoded and decoded with
aiokafka's own protocol classes and record batches with its own record classes, not by hand. It is not
a model of Kafka's replication, retention, transactions or errors beyond an unknown topic or offset.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
from dataclasses import dataclass, field
from io import BytesIO
from typing import Any

from aiokafka.protocol.admin import ApiVersionRequest_v0
from aiokafka.protocol.api import RequestHeader_v1, ResponseHeader_v0
from aiokafka.protocol.commit import OffsetCommitRequest_v2, OffsetFetchRequest_v1
from aiokafka.protocol.coordination import FindCoordinatorRequest_v0
from aiokafka.protocol.fetch import FetchRequest_v4
from aiokafka.protocol.metadata import MetadataRequest_v1
from aiokafka.protocol.offset import OffsetRequest_v1
from aiokafka.protocol.produce import ProduceRequest_v3
from aiokafka.record.default_records import DefaultRecordBatchBuilder
from aiokafka.record.memory_records import MemoryRecords

NODE = 0
UNKNOWN_TOPIC, OFFSET_OUT_OF_RANGE = 3, 1
FETCH_LIMIT = 500  # records per partition per fetch
REQUESTS: dict[int, Any] = {
    cls.API_KEY: cls
    for cls in (
        ApiVersionRequest_v0,
        MetadataRequest_v1,
        ProduceRequest_v3,
        FetchRequest_v4,
        OffsetRequest_v1,
        FindCoordinatorRequest_v0,
        OffsetFetchRequest_v1,
        OffsetCommitRequest_v2,
    )
}


@dataclass(frozen=True)
class Record:
    offset: int
    timestamp: int
    key: bytes | None
    value: bytes | None
    headers: tuple[tuple[str, bytes | None], ...] = ()


@dataclass
class KafkaBroker:
    """``await broker.start()`` listens on ``port`` (a free one the first time, the same one after a
    ``stop()``); the topics and committed offsets outlive a stop, as a restarted broker's log would."""

    host: str = "127.0.0.1"
    port: int = 0
    topics: dict[str, list[list[Record]]] = field(default_factory=dict)
    committed: dict[tuple[str, str, int], int] = field(default_factory=dict)
    requests: list[int] = field(default_factory=list)  # api keys, in order of arrival

    def __post_init__(self) -> None:
        self._server: asyncio.Server | None = None
        self._handlers: set[asyncio.Task[None]] = set()
        self._appended: asyncio.Condition | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    def create_topic(self, name: str, partitions: int = 1) -> None:
        self.topics.setdefault(name, [[] for _ in range(partitions)])

    def add_partitions(self, name: str, total: int) -> None:
        """Grow a topic to ``total`` partitions, as ``kafka-topics.sh --alter --partitions`` does."""
        logs = self.topics[name]
        logs.extend([] for _ in range(total - len(logs)))

    def records(self, topic: str, partition: int | None = None) -> list[Record]:
        logs = self.topics.get(topic, [])
        return [r for p, log in enumerate(logs) if partition in (None, p) for r in log]

    async def start(self) -> None:
        self._appended = asyncio.Condition()
        self._server = await asyncio.start_server(self._serve, self.host, self.port, reuse_address=True)
        self.port = self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        """Close the listener and every connection, as a broker that went away (once: later calls do nothing)."""
        if self._server is None:
            return
        self._server.close()
        for task in list(self._handlers):
            task.cancel()
        await asyncio.gather(*self._handlers, return_exceptions=True)
        await self._server.wait_closed()
        self._server = None

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._handlers.add(task)
        try:
            while True:
                (size,) = struct.unpack(">i", await reader.readexactly(4))
                answer = await self._answer(BytesIO(await reader.readexactly(size)))
                if answer is not None:
                    writer.write(struct.pack(">i", len(answer)) + answer)
                    await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError, asyncio.CancelledError):
            pass  # the client left, or stop() cancelled this connection: its end, not an error
        finally:
            self._handlers.discard(task)
            writer.close()
            with contextlib.suppress(ConnectionError, asyncio.CancelledError):
                await writer.wait_closed()

    async def _answer(self, frame: BytesIO) -> bytes | None:
        api_key, version, correlation_id, _client = (kind.decode(frame) for kind in RequestHeader_v1.SCHEMA.fields)
        request = REQUESTS[api_key].decode(frame)
        assert version == request.API_VERSION, f"the client chose version {version} of request {api_key}"
        self.requests.append(api_key)
        if isinstance(request, ProduceRequest_v3) and request.required_acks == 0:
            await self._produce(request)
            return None
        body = await getattr(self, f"_{type(request).__name__[:-3]}")(request)
        return bytes(ResponseHeader_v0(correlation_id).encode() + request.RESPONSE_TYPE(*body).encode())

    async def _ApiVersionRequest(self, _: Any) -> tuple[Any, ...]:  # noqa: N802
        return 0, [(key, cls.API_VERSION, cls.API_VERSION) for key, cls in REQUESTS.items()]

    async def _MetadataRequest(self, request: Any) -> tuple[Any, ...]:  # noqa: N802
        names = list(self.topics) if request.topics is None else request.topics
        topics = [
            (0, name, False, [(0, p, NODE, [NODE], [NODE]) for p in range(len(self.topics[name]))])
            if name in self.topics
            else (UNKNOWN_TOPIC, name, False, [])
            for name in names
        ]
        return [(NODE, self.host, self.port, None)], NODE, topics

    async def _ProduceRequest(self, request: Any) -> tuple[Any, ...]:  # noqa: N802
        return await self._produce(request), 0

    async def _produce(self, request: Any) -> list[Any]:
        answers = []
        for topic, partitions in request.topics:
            done = []
            for partition, data in partitions:
                log = self.topics.get(topic, [])
                if partition >= len(log):
                    done.append((partition, UNKNOWN_TOPIC, -1, -1))
                    continue
                base = len(log[partition])
                log[partition].extend(_decode(data, base))
                done.append((partition, 0, base, -1))
            answers.append((topic, done))
        assert self._appended is not None
        async with self._appended:
            self._appended.notify_all()
        return answers

    async def _FetchRequest(self, request: Any) -> tuple[Any, ...]:  # noqa: N802
        answer = self._fetch(request)
        if not any(data for _, partitions in answer for *_, data in partitions) and request.max_wait_time > 0:
            assert self._appended is not None
            async with self._appended:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._appended.wait(), request.max_wait_time / 1000)
            answer = self._fetch(request)
        return 0, answer

    def _fetch(self, request: Any) -> list[Any]:
        answers = []
        for topic, partitions in request.topics:
            done: list[tuple[int, int, int, int, list[Any], bytes]] = []
            for partition, offset, _max_bytes in partitions:
                log = self.topics.get(topic, [])
                if partition >= len(log):
                    done.append((partition, UNKNOWN_TOPIC, -1, -1, [], b""))
                elif not 0 <= offset <= len(log[partition]):
                    done.append((partition, OFFSET_OUT_OF_RANGE, -1, -1, [], b""))
                else:
                    end = len(log[partition])
                    done.append((partition, 0, end, end, [], _encode(log[partition][offset : offset + FETCH_LIMIT])))
            answers.append((topic, done))
        return answers

    async def _OffsetRequest(self, request: Any) -> tuple[Any, ...]:  # noqa: N802
        answers = []
        for topic, partitions in request.topics:
            log = self.topics.get(topic, [])
            done: list[tuple[int, int, int, int]] = []
            for partition, timestamp in partitions:
                if partition >= len(log):
                    done.append((partition, UNKNOWN_TOPIC, -1, -1))
                    continue
                records = log[partition]
                if timestamp == -1:  # latest
                    done.append((partition, 0, -1, len(records)))
                elif timestamp == -2:  # earliest
                    done.append((partition, 0, -1, 0))
                else:
                    found = next((r for r in records if r.timestamp >= timestamp), None)
                    done.append(
                        (partition, 0, -1, -1) if found is None else (partition, 0, found.timestamp, found.offset)
                    )
            answers.append((topic, done))
        return (answers,)

    async def _FindCoordinatorRequest(self, _: Any) -> tuple[Any, ...]:  # noqa: N802
        return 0, NODE, self.host, self.port

    async def _OffsetFetchRequest(self, request: Any) -> tuple[Any, ...]:  # noqa: N802
        group = request.consumer_group
        topics = [
            (topic, [(p, self.committed.get((group, topic, p), -1), "", 0) for p in partitions])
            for topic, partitions in request.topics
        ]
        return (topics,)

    async def _OffsetCommitRequest(self, request: Any) -> tuple[Any, ...]:  # noqa: N802
        for topic, partitions in request.topics:
            for partition, offset, _metadata in partitions:
                self.committed[(request.consumer_group, topic, partition)] = offset
        return ([(topic, [(p, 0) for p, *_ in partitions]) for topic, partitions in request.topics],)


def _decode(data: bytes, base: int) -> list[Record]:
    """The records of a Produce request's record batches, numbered from ``base``."""
    found: list[Record] = []
    batches = MemoryRecords(data)
    while batches.has_next():
        batch = batches.next_batch()
        assert batch is not None
        for record in batch:
            found.append(Record(base + len(found), record.timestamp, record.key, record.value, tuple(record.headers)))
    return found


def _encode(records: list[Record]) -> bytes:
    """One record batch (format v2, uncompressed) holding ``records``; empty for none."""
    if not records:
        return b""
    builder = DefaultRecordBatchBuilder(2, 0, 0, -1, -1, -1, 1 << 30)
    first = records[0].offset
    for record in records:
        builder.append(record.offset - first, record.timestamp, record.key, record.value, list(record.headers))
    batch = builder.build()
    batch[:8] = struct.pack(">q", first)  # the base offset, outside the batch's CRC
    return bytes(batch)
