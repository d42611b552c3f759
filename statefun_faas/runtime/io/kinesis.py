"""Kinesis through boto3 (used unless ``--local-io``): shard pollers feed the ingress, a forwarder empties
the egress table into the streams.

Ingress is at-least-once: a shard's position is saved after its records are committed to the inboxes.
Egress is at-least-once: a record leaves the durable egress table only once Kinesis accepted it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from statefun_faas import _wire
from statefun_faas.errors import ConfigurationError
from statefun_faas.moduleyaml.model import KINESIS_EGRESS, KINESIS_INGRESS, Egress, Ingress, Module, Route
from statefun_faas.runtime.engine.egress import Doorbell, oldest_records
from statefun_faas.runtime.engine.router import Ingest
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store

logger = logging.getLogger("statefun_faas.runtime")

POLL_S = 0.2
RETRY_S = 1.0


def require_boto3(module: Module) -> None:
    """The module's Kinesis ingresses and egresses reach AWS through boto3, which the ``[boto3]`` extra installs:
    without it, a ConfigurationError naming the extra before anything starts, not a background loop failing
    again and again."""
    components: list[Ingress | Egress] = [*module.ingresses, *module.egresses]
    kinesis = [item for item in components if item.kind in (KINESIS_INGRESS, KINESIS_EGRESS)]
    if not kinesis:
        return
    try:
        import boto3  # noqa: F401 (only probing whether it is installed)
    except ImportError:
        kind = "ingress" if kinesis[0].kind == KINESIS_INGRESS else "egress"
        raise ConfigurationError(
            f"the Kinesis {kind} {kinesis[0].id} needs boto3, which is not installed: "
            "pip install 'statefun-faas[boto3]' (or run with --local-io to bind it to local topics)"
        ) from None


def client(spec: Mapping[str, Any]) -> Any:
    """A boto3 Kinesis client for a spec's ``awsRegion`` and ``awsCredentials`` (default: boto3's chain)."""
    import boto3

    region = spec.get("awsRegion") or {"type": "default"}
    credentials = spec.get("awsCredentials") or {"type": "default"}
    session_args: dict[str, Any] = {}
    if credentials.get("type") == "basic":
        session_args = {
            "aws_access_key_id": credentials.get("accessKeyId"),
            "aws_secret_access_key": credentials.get("secretAccessKey"),
        }
    elif credentials.get("type") == "profile":
        session_args = {"profile_name": credentials.get("profileName")}
    client_args: dict[str, Any] = {}
    if region.get("type") in ("specific", "custom-endpoint"):
        client_args["region_name"] = region.get("id")
    if region.get("type") == "custom-endpoint":
        client_args["endpoint_url"] = region.get("endpoint")
    return boto3.Session(**session_args).client("kinesis", **client_args)


async def forward_egress(store: Store, egress: Egress, doorbell: Doorbell | None = None) -> None:
    """Put the egress's stored records into Kinesis, oldest first (at once when ``doorbell`` rings for them);
    runs until cancelled."""
    kinesis = client(egress.spec)
    try:
        while True:
            await _forward_one(store, egress, kinesis, doorbell)
    finally:
        kinesis.close()


async def _forward_one(store: Store, egress: Egress, kinesis: Any, doorbell: Doorbell | None) -> None:
    [(seq, stored)] = await oldest_records(store, egress.id, POLL_S, 1, doorbell)
    record = _wire.KinesisEgressRecord.FromString(stored.payload)
    put: dict[str, Any] = {
        "StreamName": record.stream,
        "Data": record.value_bytes,
        "PartitionKey": record.partition_key,
    }
    if record.explicit_hash_key:
        put["ExplicitHashKey"] = record.explicit_hash_key
    try:
        await asyncio.to_thread(kinesis.put_record, **put)
    except Exception as error:
        logger.warning("egress %s: Kinesis put_record to %s failed, retrying: %s", egress.id, record.stream, error)
        await asyncio.sleep(RETRY_S)
        return
    store.delete_egress([seq])


async def poll_ingress(store: Store, ingest: Ingest, ingress: Ingress) -> None:
    """Read every shard of every stream of the ingress into the inboxes through ``ingest``; runs until cancelled."""
    kinesis = client(ingress.spec)
    tasks: list[asyncio.Task[None]] = []
    try:
        for route in ingress.routes:
            shards = await asyncio.to_thread(kinesis.list_shards, StreamName=route.topic)
            for shard in shards["Shards"]:
                tasks.append(asyncio.create_task(_poll_shard(store, ingest, ingress, kinesis, route, shard["ShardId"])))
        await asyncio.gather(*tasks)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        kinesis.close()


async def _poll_shard(store: Store, ingest: Ingest, ingress: Ingress, kinesis: Any, route: Route, shard: str) -> None:
    source = f"kinesis:{ingress.id}:{route.topic}:{shard}"
    iterator = await asyncio.to_thread(
        kinesis.get_shard_iterator,
        StreamName=route.topic,
        ShardId=shard,
        **_start(ingress, store.offset(source)),
    )
    position = iterator["ShardIterator"]
    while position:
        answer = await asyncio.to_thread(kinesis.get_records, ShardIterator=position, Limit=1000)
        records = answer["Records"]
        if records:
            envelopes = [
                Envelope(Address(target, record["PartitionKey"]), Value(route.value_type, record["Data"]))
                for record in records
                for target in route.targets
            ]
            await ingest(envelopes)
            store.save_offset(source, records[-1]["SequenceNumber"])
        position = answer.get("NextShardIterator")
        if not records:
            await asyncio.sleep(POLL_S)


def _start(ingress: Ingress, saved: str | None) -> dict[str, Any]:
    if saved is not None:
        return {"ShardIteratorType": "AFTER_SEQUENCE_NUMBER", "StartingSequenceNumber": saved}
    position = ingress.spec.get("startupPosition") or {"type": "latest"}
    kind = position.get("type", "latest")
    if kind == "earliest":
        return {"ShardIteratorType": "TRIM_HORIZON"}
    if kind == "date":
        when = datetime.strptime(position["date"], "%Y-%m-%d %H:%M:%S.%f %z")
        return {"ShardIteratorType": "AT_TIMESTAMP", "Timestamp": when}
    return {"ShardIteratorType": "LATEST"}
