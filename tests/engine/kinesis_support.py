"""Kinesis for the engine tests: moto's server over HTTPS on loopback, as StateFun's Kinesis connector needs it.

What StateFun 3.3.0 on Java 17 needs to talk to a Kinesis API on loopback (each found by running it):

- an ``https://`` endpoint: ``awsRegion: {type: custom-endpoint}`` refuses any other scheme, so moto
  serves TLS with a certificate of a CA made here; the ingress (AWS SDK v1) trusts that CA through
  the JVM's trust store (``JAVA_TOOL_OPTIONS``), the egress (the Kinesis Producer Library's native
  process) is told ``VerifyCertificate: false`` through ``clientConfigProperties``;
- ``AWS_CBOR_DISABLE=true``: the SDK's Kinesis client speaks CBOR by default, which moto answers
  with errors (500) to ListShards;
- JAXB on the class path (Java 11+ dropped it; the image runs Java 8): the harness's pom adds it;
- ``startupPosition: earliest`` instead of ``latest``: for ``latest`` Flink's consumer asks for an
  ``AT_TIMESTAMP`` iterator whose timestamp moto misreads (milliseconds taken as seconds: "year 58901
  is out of range", a 500 each time, the source failing in a loop);
- ``AggregationEnabled: false`` (readers here do not de-aggregate KPL records) and
  ``MetricsLevel: none`` (no CloudWatch to send metrics to).
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import yaml
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from tests.engine import processes
from tests.engine.artifacts import java
from tests.engine.examples_support import Wire
from tests.runtime.invoke.test_tls import certificate, pem

KINESIS_KINDS = ("io.statefun.kinesis.v1/ingress", "io.statefun.kinesis.v1/egress")
REGION = "eu-west-1"
PRODUCER_PROPERTIES = [{"VerifyCertificate": False}, {"AggregationEnabled": False}, {"MetricsLevel": "none"}]
TRUST_PASSWORD = "changeit"


@dataclass(frozen=True)
class Tls:
    ca: Path  # PEM, for boto3 (AWS_CA_BUNDLE)
    cert: Path
    key: Path
    truststore: Path  # PKCS12 holding the CA, for the JVM

    def environment(self) -> dict[str, str]:
        """What StateFun's JVM and boto3 (our runtime, the test's clients) need to reach moto."""
        return {
            "JAVA_TOOL_OPTIONS": f"-Djavax.net.ssl.trustStore={self.truststore} "
            f"-Djavax.net.ssl.trustStorePassword={TRUST_PASSWORD}",
            "AWS_CBOR_DISABLE": "true",
            "AWS_CA_BUNDLE": str(self.ca),
            "AWS_ACCESS_KEY_ID": "testing",
            "AWS_SECRET_ACCESS_KEY": "testing",
        }


def write_tls(folder: Path) -> Tls:
    """A CA, a certificate for 127.0.0.1 it signed, and a Java trust store holding the CA."""
    folder.mkdir(parents=True, exist_ok=True)
    ca_key, key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    ca = certificate("engine-test-ca", ca_key)
    tls = Tls(folder / "ca.pem", folder / "server.pem", folder / "server.key", folder / "trust.p12")
    tls.ca.write_bytes(pem(ca))
    tls.cert.write_bytes(pem(certificate("moto", key, (ca, ca_key))))
    plain = serialization.NoEncryption()
    tls.key.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, plain))
    keytool = java().home / "bin" / "keytool"
    command = [str(keytool), "-importcert", "-noprompt", "-alias", "engine-test-ca", "-file", str(tls.ca)]
    command += ["-keystore", str(tls.truststore), "-storetype", "PKCS12", "-storepass", TRUST_PASSWORD]
    done = subprocess.run(command, capture_output=True, text=True, check=False, timeout=60)
    assert done.returncode == 0, f"keytool could not make the trust store ({keytool}):\n{done.stdout}{done.stderr}"
    return tls


def client(endpoint: str, tls: Tls) -> Any:
    return boto3.client("kinesis", endpoint_url=endpoint, region_name=REGION, verify=str(tls.ca))


@contextmanager
def kinesis_server(folder: Path, tls: Tls, streams: tuple[str, ...]) -> Iterator[str]:
    """moto's server on a free loopback port over HTTPS, with ``streams`` (one shard each); yields its URL."""
    (port,) = processes.free_ports(1)
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    service = processes.start("moto", [*command, "-c", str(tls.cert), "-k", str(tls.key)], folder / "moto.log")
    try:
        processes.wait_until(lambda: processes.port_open(port), "moto's server", [service], timeout=60)
        endpoint = f"https://127.0.0.1:{port}"
        kinesis = client(endpoint, tls)
        for stream in streams:
            kinesis.create_stream(StreamName=stream, ShardCount=1)
            kinesis.get_waiter("stream_exists").wait(StreamName=stream, WaiterConfig={"Delay": 0.2})
        yield endpoint
    finally:
        service.stop(grace=10)


def on_kinesis(documents: str, endpoint: str) -> str:
    """The Kinesis documents pointed at ``endpoint`` (the examples name a region), set up for moto as above."""
    moved = []
    for document in yaml.safe_load_all(documents):
        if document["kind"] in KINESIS_KINDS:
            document["spec"]["awsRegion"] = {"type": "custom-endpoint", "endpoint": endpoint, "id": REGION}
            if "startupPosition" in document["spec"]:  # the streams are new: the same records either way
                document["spec"]["startupPosition"] = {"type": "earliest"}
            if document["kind"].endswith("/egress"):
                document["spec"]["clientConfigProperties"] = PRODUCER_PROPERTIES
        moved.append(document)
    return yaml.safe_dump_all(moved, sort_keys=False)


class KinesisWire(Wire):
    """Kinesis: puts records (partition key: the key) and reads the egress stream from its end (LATEST)."""

    def __init__(self, endpoint: str, tls: Tls, egress_stream: str, ignored: tuple[str, ...] = ()) -> None:
        super().__init__(egress_stream, ignored)
        self.kinesis = client(endpoint, tls)
        self.iterators: list[str] = []

    async def __aenter__(self) -> KinesisWire:
        shards = self.kinesis.list_shards(StreamName=self.egress)["Shards"]
        for shard in shards:
            found = self.kinesis.get_shard_iterator(
                StreamName=self.egress, ShardId=shard["ShardId"], ShardIteratorType="LATEST"
            )
            self.iterators.append(found["ShardIterator"])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.kinesis.close()

    async def send(self, topic: str, *records: tuple[str, bytes]) -> None:
        for key, value in records:
            await asyncio.to_thread(self.kinesis.put_record, StreamName=topic, Data=value, PartitionKey=key)

    async def _fetch(self, seconds: float) -> list[tuple[str, bytes]]:
        fetched: list[tuple[str, bytes]] = []
        for number, iterator in enumerate(self.iterators):
            answer = await asyncio.to_thread(self.kinesis.get_records, ShardIterator=iterator)
            self.iterators[number] = answer["NextShardIterator"]
            fetched += [(record["PartitionKey"], record["Data"]) for record in answer["Records"]]
        if not fetched:
            await asyncio.sleep(seconds)
        return fetched
