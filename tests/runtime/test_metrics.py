"""The runtime's Prometheus metrics, scraped and read back with prometheus_client's text-format parser: what went
in through each ingress (the playground's port and a Kafka local topic, real ports on loopback), what the
functions behind a real HTTP server did with it (applied, forwarded, written to the egress, delayed,
dead-lettered after its retries), and what waits, checked against what was sent. Two runtimes side by side keep
their own numbers."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from pathlib import Path

import aiohttp
import pytest
from prometheus_client.parser import text_string_to_metric_families
from prometheus_client.samples import Sample

from statefun_faas.runtime.app import Runtime
from statefun_faas.runtime.metrics import LATENCY_BUCKETS
from tests.runtime.apps import EGRESS, functions
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, put, running, take

KAFKA_IO = """
---
kind: io.statefun.kafka.v1/ingress
spec:
  id: test/names
  address: 127.0.0.1:9
  topics:
    - topic: names
      valueType: test/text
      targets: [test/counter]
"""
PLAYGROUND = "io.statefun.playground/ingress"


def scrape(runtime: Runtime, accept: str | None = None) -> dict[str, list[Sample]]:
    """The exposition parsed back: each sample by its name (``..._total``, ``..._bucket``, ...)."""
    body, content_type = runtime.metrics.exposition(accept)
    assert content_type == "text/plain; version=0.0.4; charset=utf-8"
    samples: dict[str, list[Sample]] = {}
    for family in text_string_to_metric_families(body.decode()):
        for sample in family.samples:
            samples.setdefault(sample.name, []).append(sample)
    return samples


def value(samples: dict[str, list[Sample]], name: str, **labels: str) -> float:
    """The one sample of ``name`` whose labels include ``labels``."""
    [found] = [s.value for s in samples.get(name, []) if labels.items() <= s.labels.items()]
    return found


def by(samples: Iterable[Sample], label: str) -> dict[str, float]:
    return {sample.labels[label]: sample.value for sample in samples}


def test_the_counters_say_what_was_sent_through_a_real_runtime(tmp_path: Path) -> None:
    async def go() -> tuple[dict[str, list[Sample]], dict[str, list[Sample]], str]:
        async with FunctionServer(functions).serving() as server:
            url = f"http://127.0.0.1:{server.port}/statefun"
            module = endpoint("test/*", url) + PLAYGROUND_IO + KAFKA_IO
            async with running(tmp_path, module, local_io=True, local_io_port=0) as runtime:
                ingress, local = runtime.ports["ingress"], runtime.ports["local-io"]
                async with aiohttp.ClientSession() as session:
                    for n in range(5):
                        assert await put(session, ingress, f"test/counter/c{n % 2}", f"m{n}") == 200
                    for n in range(3):
                        assert await put(session, ingress, f"test/forwarder/f{n}", "hop") == 200
                    assert await put(session, ingress, "test/failing/x", "boom") == 200
                    command = json.dumps({"after": 600, "token": "later", "text": "t"})
                    assert await put(session, ingress, "test/timer/t", command) == 200
                    for name in ("ann", "bob"):
                        async with session.post(f"http://127.0.0.1:{local}/names/{name}", data=b"hi") as answer:
                            assert answer.status == 200
                    await runtime.router.quiescent()
                    before = scrape(runtime)
                    assert len(await take(session, runtime.ports["egress"], "counts", 2)) == 2
                    return before, scrape(runtime), url

    before, after, url = asyncio.run(go())
    assert by(before["statefun_ingress_messages_total"], "ingress") == {PLAYGROUND: 10, "test/names": 2}
    counter = {"function_type": "test/counter", "endpoint": url}
    assert value(before, "statefun_in_total", **counter) == 5 + 3 + 2  # the forwarders' messages too
    assert value(before, "statefun_in_total", function_type="test/forwarder") == 3
    assert value(before, "statefun_out_total", function_type="test/forwarder") == 3
    assert value(before, "statefun_out_total", **counter) == 0
    assert value(before, "statefun_out_egress_total", **counter, egress=EGRESS) == 10
    assert value(before, "statefun_out_delayed_total", function_type="test/timer") == 1
    assert value(before, "statefun_delayed_messages") == 1
    # the failing function raised: 3 attempts, 2 of them retried, then one dead letter
    failing = {"function_type": "test/failing", "endpoint": url}
    assert value(before, "statefun_remote_invocation_failures_total", **failing) == 3
    assert value(before, "statefun_invocation_retries_total", **failing) == 2
    assert value(before, "statefun_dead_letters_total", **failing) == 1
    assert value(before, "statefun_invocations_total", **failing, outcome="dead-lettered") == 1
    assert value(before, "statefun_dead_letters_stored") == 1
    assert value(before, "statefun_remote_invocation_failures_total", **counter) == 0
    # each batch is one invocation, its messages' count the batch sizes' sum; every request a latency
    applied = value(before, "statefun_invocations_total", **counter, outcome="applied")
    assert 1 <= applied <= 10
    assert value(before, "statefun_batch_size_messages_count", **counter) == applied
    assert value(before, "statefun_batch_size_messages_sum", **counter) == 10
    requests = value(before, "statefun_remote_invocation_latency_seconds_count", **counter)
    assert requests >= applied + 1  # and the round that registered the counter's state
    buckets = [s for s in before["statefun_remote_invocation_latency_seconds_bucket"] if s.labels["endpoint"] == url]
    counts = [s.value for s in buckets if s.labels["function_type"] == "test/counter"]
    assert counts == sorted(counts)  # cumulative
    assert len(counts) == len(LATENCY_BUCKETS) + 1
    assert counts[-1] == requests
    # each applied batch's effects were committed after the function answered, in one group commit or another
    assert value(before, "statefun_commit_seconds_count", **counter) == applied
    assert 0 < value(before, "statefun_commit_seconds_sum", **counter) < 5
    assert value(before, "statefun_commit_seconds_count", **failing) == 0  # dead-lettered: nothing committed
    # the group commits' transactions: at least one per applied batch's turn and one for the ingress messages
    transactions = value(before, "statefun_store_commit_seconds_count")
    assert transactions >= 2
    assert 0 < value(before, "statefun_store_commit_seconds_sum") < 5
    # what waits: nothing in the inboxes; the egress records until read
    assert sum(s.value for s in before.get("statefun_backlog_messages", [])) == 0
    assert by(before["statefun_egress_waiting_records"], "egress") == {EGRESS: 10}
    assert by(after["statefun_egress_waiting_records"], "egress") == {EGRESS: 8}
    assert value(before, "statefun_blocked_addresses") == 0
    assert value(before, "statefun_ingress_limit_messages") >= 8
    assert value(before, "process_cpu_seconds_total") > 0


def test_openmetrics_when_asked_and_two_runtimes_keep_their_own_numbers(tmp_path: Path) -> None:
    for folder in ("one", "two"):
        (tmp_path / folder).mkdir()

    async def go() -> tuple[dict[str, list[Sample]], dict[str, list[Sample]], bytes, str]:
        async with (
            running(tmp_path / "one", PLAYGROUND_IO, functions) as one,
            running(tmp_path / "two", PLAYGROUND_IO, functions) as two,
            aiohttp.ClientSession() as session,
        ):
            assert await put(session, one.ports["ingress"], "test/counter/a", "x") == 200
            assert await put(session, two.ports["ingress"], "test/counter/a", "y") == 200
            assert await put(session, two.ports["ingress"], "test/counter/b", "z") == 200
            await one.router.quiescent()
            await two.router.quiescent()
            body, content_type = one.metrics.exposition("application/openmetrics-text; version=1.0.0")
            return scrape(one), scrape(two), body, content_type

    one, two, body, content_type = asyncio.run(go())
    assert value(one, "statefun_in_total", function_type="test/counter") == 1
    assert value(two, "statefun_in_total", function_type="test/counter") == 2
    assert content_type.startswith("application/openmetrics-text")
    assert body.endswith(b"# EOF\n")
    assert b'statefun_in_total{endpoint="in-process",function_type="test/counter"} 1.0' in body


@pytest.mark.parametrize("accept", [None, "", "text/plain", "*/*"])
def test_the_text_format_is_the_default(tmp_path: Path, accept: str | None) -> None:
    async def go() -> dict[str, list[Sample]]:
        async with running(tmp_path, PLAYGROUND_IO, functions) as runtime:
            return scrape(runtime, accept)

    samples = asyncio.run(go())
    assert value(samples, "statefun_delayed_messages") == 0
    assert "statefun_ingress_messages_total" not in samples  # nothing came in
