"""Kinesis ingress and egress through boto3. AWS can not run offline, so this one talks to moto's
server (a stand-in for the Kinesis API, over real HTTP on loopback); everything else is real."""

from __future__ import annotations

import asyncio
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.runtime.apps import functions
from tests.runtime.processes import free_port, wait_for_port
from tests.runtime.servers import running

pytestmark = pytest.mark.slow


@pytest.fixture
def moto() -> Iterator[str]:
    port = free_port()
    command = [sys.executable, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(port)]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_for_port(port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(10)


def module(endpoint: str) -> str:
    aws = f"""  awsRegion: {{type: custom-endpoint, endpoint: "{endpoint}", id: us-east-1}}
  awsCredentials: {{type: basic, accessKeyId: testing, secretAccessKey: testing}}
"""
    return f"""
kind: io.statefun.kinesis.v1/ingress
spec:
  id: test/kin
{aws}  startupPosition: {{type: earliest}}
  streams:
    - stream: loud
      valueType: test/text
      targets: [test/kinesis]
---
kind: io.statefun.kinesis.v1/egress
spec:
  id: test/kout
{aws}"""


def kinesis_client(endpoint: str) -> Any:
    return boto3.client(
        "kinesis",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )


def read_all(client: Any, stream: str, expected: int, timeout: float = 60) -> list[tuple[str, bytes]]:
    shard = client.list_shards(StreamName=stream)["Shards"][0]["ShardId"]
    iterator = client.get_shard_iterator(StreamName=stream, ShardId=shard, ShardIteratorType="TRIM_HORIZON")
    position, found = iterator["ShardIterator"], list[tuple[str, bytes]]()
    deadline = time.monotonic() + timeout
    while len(found) < expected and time.monotonic() < deadline:
        answer = client.get_records(ShardIterator=position)
        found += [(record["PartitionKey"], record["Data"]) for record in answer["Records"]]
        position = answer["NextShardIterator"]
        time.sleep(0.1)
    return found


def test_kinesis_streams_in_and_out(tmp_path: Path, moto: str, request: pytest.FixtureRequest) -> None:
    client = kinesis_client(moto)
    request.addfinalizer(client.close)
    for stream in ("loud", "shouts"):
        client.create_stream(StreamName=stream, ShardCount=1)
    client.put_record(StreamName="loud", Data=b"hello", PartitionKey="ann")
    client.put_record(StreamName="loud", Data=b"again", PartitionKey="bob")

    async def go(expected: int) -> None:
        async with running(tmp_path, module(moto), functions):
            await asyncio.to_thread(read_all, client, "shouts", expected)

    asyncio.run(go(2))
    assert read_all(client, "shouts", 2) == [("ann", b"ann:hello"), ("bob", b"bob:again")]
    client.put_record(StreamName="loud", Data=b"later", PartitionKey="cy")
    asyncio.run(go(3))  # a restart reads on from the saved shard position: nothing twice
    assert read_all(client, "shouts", 4, timeout=1)[2:] == [("cy", b"cy:later")]
