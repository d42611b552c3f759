"""Kafka through aiokafka, for the Kafka kinds whose broker answers at start (``bind`` decides; otherwise
they stay on local topics): one consumer per ingress, one producer per egress.

Ingress is at-least-once: a partition's position is saved in the store after its records are committed
to the inboxes, so a restart resumes there. With nothing saved yet (a saved position always wins, as a
restored Flink checkpoint does): ``earliest`` and ``latest`` seek there,
``date`` to the first record at or after it, ``specific-offsets`` to the listed offset; ``group-offsets``
and unlisted partitions start at the group's committed offset when ``consumerGroupId`` is set, else at
``autoOffsetResetPosition`` (default latest). The starting position is saved at once, so records
written while the runtime is down are read after a restart even with ``latest``. With a group, positions
are also committed to it (best effort) so Kafka's tools see the lag. Partitions added to a topic are
found within ``DISCOVER_S`` seconds, and at a restart; they are read from their first record (as Flink
reads the partitions a restored checkpoint did not know), not from ``startupPosition``, which is for the
first start only. ``properties`` go to aiokafka under their underscore names (``max.poll.records`` ->
``max_poll_records``) where aiokafka has one.

Egress is at-least-once: a record leaves the durable egress table only once the broker acknowledged it
(acks=all; ``deliverySemantic: none`` sends with acks=0; exactly-once is delivered at-least-once).
"""

from __future__ import annotations

import asyncio
import contextlib
import inspect
import logging
from collections.abc import Awaitable, Callable, Mapping
from datetime import datetime
from typing import Any

from statefun_faas import _wire
from statefun_faas.moduleyaml.model import KAFKA_EGRESS, KAFKA_INGRESS, Egress, Ingress, Module, Route
from statefun_faas.runtime.engine.egress import Doorbell, oldest_records
from statefun_faas.runtime.engine.router import Ingest
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.repeats import quiet_repeats
from statefun_faas.runtime.store.database import Store

logger = logging.getLogger("statefun_faas.runtime")

PROBE_S = 1.0
POLL_MS = 500
MAX_RECORDS = 1000
IDLE_S = 0.2
DISCOVER_S = 30.0  # how often a running ingress looks for partitions added to its topics
SEND_BATCH = 500  # stored egress records sent at once; deleted together once the broker acknowledged all
FIRST_RETRY_S, LAST_RETRY_S = 0.5, 30.0
#: (kind, id, address) of a Kafka component -> bound to its broker (True) or to local topics (False)
Bindings = dict[tuple[str, str, str], bool]


def servers(spec: Mapping[str, Any]) -> list[str]:
    """The bootstrap servers of a spec's ``address`` ("host:port,host:port")."""
    return [server.strip() for server in str(spec.get("address") or "").split(",") if server.strip()]


async def probe(spec: Mapping[str, Any]) -> str | None:
    """None when one of the bootstrap servers accepts a TCP connection, else why none did."""
    reasons = []
    for server in servers(spec):
        host, _, port = server.rpartition(":")
        if not host or not port.isdigit():
            reasons.append(f"{server!r} is not host:port")
            continue
        try:
            _, writer = await asyncio.wait_for(asyncio.open_connection(host.strip("[]"), int(port)), PROBE_S)
        except (OSError, TimeoutError) as error:
            reasons.append(f"{server}: {error or f'no answer within {PROBE_S:g}s'}")
            continue
        writer.close()
        with contextlib.suppress(OSError):
            await writer.wait_closed()
        return None
    return "; ".join(reasons) or "module.yaml gives no address"


async def bind(module: Module, local_io: bool, earlier: Bindings) -> Bindings:
    """Which Kafka components run on their broker; a component keeps the choice made when it first
    appeared (a reload does not move it), a new one is probed. Logs each choice and why."""
    bindings: Bindings = {}
    probed: dict[str, str | None] = {}  # address -> why it is not reachable
    components: list[Ingress | Egress] = [*module.ingresses, *module.egresses]
    for component in components:
        if component.kind not in (KAFKA_INGRESS, KAFKA_EGRESS):
            continue
        key = (component.kind, component.id, str(component.spec.get("address") or ""))
        if key in earlier:
            bindings[key] = earlier[key]
            continue
        what = f"Kafka {'ingress' if component.kind == KAFKA_INGRESS else 'egress'} {component.id}"
        if not local_io and key[2] not in probed:
            probed[key[2]] = await probe(component.spec)
        reason = "--local-io" if local_io else probed[key[2]]
        bindings[key] = reason is None
        if reason is None:
            logger.info("%s: broker %s reachable, bound through aiokafka", what, key[2])
        else:
            logger.info("%s on local topics (%s)", what, reason)
    return bindings


def bound(bindings: Bindings) -> frozenset[tuple[str, str]]:
    """The (kind, id) of the components bound to a broker."""
    return frozenset((kind, ident) for (kind, ident, _), on_broker in bindings.items() if on_broker)


async def forward_egress(store: Store, egress: Egress, doorbell: Doorbell | None = None) -> None:
    """Send the egress's stored records to the broker, oldest first (at once when ``doorbell`` rings for
    them); runs until cancelled."""
    from aiokafka import AIOKafkaProducer

    semantic = str((egress.spec.get("deliverySemantic") or {}).get("type", "at-least-once")).lower()
    if semantic == "exactly-once":
        logger.info("egress %s: exactly-once is delivered at-least-once here (no Kafka transactions)", egress.id)
    options = {**client_options(egress, AIOKafkaProducer), "acks": 0 if semantic == "none" else "all"}
    await _retrying(
        f"egress {egress.id}",
        egress.spec,
        lambda: AIOKafkaProducer(**options),
        lambda p: _forward(store, egress, p, doorbell),
    )


async def _forward(store: Store, egress: Egress, producer: Any, doorbell: Doorbell | None) -> None:
    while True:
        batch = await oldest_records(store, egress.id, IDLE_S, SEND_BATCH, doorbell)
        sent = []  # queued in order, so each partition keeps the stored order
        for _, stored in batch:
            record = _wire.KafkaProducerRecord.FromString(stored.payload)
            sent.append(await producer.send(record.topic, record.value_bytes, key=record.key.encode() or None))
        await asyncio.gather(*sent)
        store.delete_egress(seq for seq, _ in batch)


async def consume_ingress(store: Store, ingest: Ingest, ingress: Ingress) -> None:
    """Read the ingress's topics into the inboxes through ``ingest``; runs until cancelled."""
    from aiokafka import AIOKafkaConsumer

    options = client_options(ingress, AIOKafkaConsumer)
    if reset := ingress.spec.get("autoOffsetResetPosition"):
        options["auto_offset_reset"] = str(reset).lower()
    options.setdefault("auto_offset_reset", "latest")
    options.update(group_id=ingress.spec.get("consumerGroupId") or None, enable_auto_commit=False)
    await _retrying(
        f"ingress {ingress.id}",
        ingress.spec,
        lambda: AIOKafkaConsumer(**options),
        lambda c: _consume(store, ingest, ingress, c),
    )


async def _consume(store: Store, ingest: Ingest, ingress: Ingress, consumer: Any) -> None:
    routes = {route.topic: route for route in ingress.routes}
    loop = asyncio.get_running_loop()
    assigned, looked = await _assign(store, ingress, consumer, frozenset()), loop.time()
    while True:
        if loop.time() - looked >= DISCOVER_S:
            assigned, looked = await _assign(store, ingress, consumer, assigned), loop.time()
        batches = await consumer.getmany(timeout_ms=POLL_MS, max_records=MAX_RECORDS)
        envelopes = [
            envelope
            for tp, records in batches.items()
            for record in records
            for envelope in _envelopes(ingress.id, routes[tp.topic], record)
        ]
        if envelopes:
            await ingest(envelopes)
        positions = {tp: records[-1].offset + 1 for tp, records in batches.items() if records}
        for tp, position in positions.items():
            store.save_offset(_source(ingress, tp), str(position))
        if positions and ingress.spec.get("consumerGroupId"):
            await _commit(ingress, consumer, positions)


def _envelopes(ingress_id: str, route: Route, record: Any) -> list[Envelope]:
    try:
        key = record.key.decode("utf-8")
    except (AttributeError, UnicodeDecodeError):
        where = f"{record.topic}/{record.partition}@{record.offset}"
        logger.warning(
            "ingress %s: record %s skipped: its key (the function id) is missing or not UTF-8", ingress_id, where
        )
        return []
    value = Value(route.value_type, record.value or b"")
    return [Envelope(Address(target, key), value) for target in route.targets]


async def _assign(store: Store, ingress: Ingress, consumer: Any, known: frozenset[Any]) -> frozenset[Any]:
    """Assign the partitions of the ingress's topics, if they are not the ``known`` ones; returns them.
    Each resumes at its saved position; those without one start where ``startupPosition`` says at a first
    start, else (added since) at their first record."""
    from aiokafka import TopicPartition
    from aiokafka.errors import UnknownTopicOrPartitionError

    # the consumer's topics() drops the partitions it fetched; its client's answer keeps them
    cluster = await consumer._client.fetch_all_metadata()
    missing = [route.topic for route in ingress.routes if route.topic not in cluster.topics()]
    if missing:
        raise UnknownTopicOrPartitionError(f"topic(s) {', '.join(missing)} not found on the broker")
    tps = [TopicPartition(r.topic, p) for r in ingress.routes for p in sorted(cluster.partitions_for_topic(r.topic))]
    if frozenset(tps) == known:
        return known
    consumer.assign(tps)  # positions start over: every partition is sought below
    fresh = []
    for tp in tps:
        saved = store.offset(_source(ingress, tp))
        if saved is None:
            fresh.append(tp)
        else:
            consumer.seek(tp, int(saved))
    if len(fresh) == len(tps):
        await _start_at(ingress.spec.get("startupPosition") or {}, consumer, fresh)
    elif fresh:
        logger.info("ingress %s: reading new partition(s) %s from the start", ingress.id, _names(fresh))
        await consumer.seek_to_beginning(*fresh)
    for tp in fresh:
        store.save_offset(_source(ingress, tp), str(await consumer.position(tp)))
    return frozenset(tps)


def _names(tps: list[Any]) -> str:
    return ", ".join(f"{tp.topic}/{tp.partition}" for tp in tps)


async def _start_at(position: Mapping[str, Any], consumer: Any, tps: list[Any]) -> None:
    """Seek partitions with no saved position as ``startupPosition`` says (see the module's docstring)."""
    kind = str(position.get("type", "latest")).lower()
    if not tps or kind == "group-offsets":
        return
    if kind == "earliest":
        await consumer.seek_to_beginning(*tps)
    elif kind == "latest":
        await consumer.seek_to_end(*tps)
    elif kind == "date":
        when = datetime.strptime(str(position["date"]), "%Y-%m-%d %H:%M:%S.%f %z")
        found = await consumer.offsets_for_times(dict.fromkeys(tps, int(when.timestamp() * 1000)))
        for tp in tps:
            if found.get(tp) is None:
                await consumer.seek_to_end(tp)
            else:
                consumer.seek(tp, found[tp].offset)
    elif kind == "specific-offsets":
        offsets = {key: int(value) for item in position.get("offsets") or [] for key, value in item.items()}
        for tp in tps:
            if (offset := offsets.get(f"{tp.topic}/{tp.partition}")) is not None:
                consumer.seek(tp, offset)


async def _commit(ingress: Ingress, consumer: Any, positions: Mapping[Any, int]) -> None:
    from aiokafka.errors import KafkaError

    try:
        await consumer.commit(dict(positions))
    except KafkaError as error:
        logger.warning(
            "ingress %s: committing positions to the consumer group failed (they are saved): %s", ingress.id, error
        )


def _source(ingress: Ingress, tp: Any) -> str:
    return f"kafka:{ingress.id}:{tp.topic}:{tp.partition}"


async def _retrying(
    name: str, spec: Mapping[str, Any], make: Callable[[], Any], work: Callable[[Any], Awaitable[None]]
) -> None:
    """Start a client and ``work`` with it; on a Kafka or connection error log it, wait and start afresh.
    The wait doubles up to LAST_RETRY_S, and starts over once a client worked for that long. Nothing is
    lost: positions and egress records stay in the store."""
    from aiokafka.errors import KafkaError

    quiet_repeats("aiokafka")  # its reconnect errors come dozens a second while a broker is away
    loop = asyncio.get_running_loop()
    delay = FIRST_RETRY_S
    while True:
        client, began = make(), loop.time()
        try:
            await client.start()
            await work(client)
        except (KafkaError, OSError) as error:
            delay = FIRST_RETRY_S if loop.time() - began > LAST_RETRY_S else delay
            logger.warning("%s: Kafka at %s failed, retrying in %gs: %s", name, ",".join(servers(spec)), delay, error)
        finally:
            await client.stop()
        await asyncio.sleep(delay)
        delay = min(delay * 2, LAST_RETRY_S)


def client_options(component: Ingress | Egress, cls: Any) -> dict[str, Any]:
    """``bootstrap_servers`` plus the spec's ``properties`` that aiokafka's ``cls`` takes (others: logged)."""
    accepted = set(inspect.signature(cls).parameters) - {"bootstrap_servers", "group_id", "enable_auto_commit", "acks"}
    options: dict[str, Any] = {"bootstrap_servers": servers(component.spec)}
    for key, value in (pair for item in component.spec.get("properties") or [] for pair in item.items()):
        name = key.replace(".", "_").replace("-", "_")
        if name in accepted:
            options[name] = _plain(value)
        else:
            logger.warning("%s: Kafka property %r has no aiokafka counterpart here; ignored", component.id, key)
    return options


def _plain(value: Any) -> Any:
    text = str(value)
    if text.lower() in ("true", "false"):
        return text.lower() == "true"
    return int(text) if text.lstrip("-").isdigit() else value
