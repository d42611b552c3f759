"""The runtime's metrics in the Prometheus text format, through the official client library (prometheus_client).

One registry per :class:`~statefun_faas.runtime.app.Runtime` (never the library's global one), so runtimes
side by side keep their own numbers. What already exists is read when scraped: the router's counters, the
store's inboxes, delayed messages, dead letters and egress tables, the valve. What happens per delivered batch
comes from the router's observers (:meth:`RuntimeMetrics.observe`), and ingress messages from the ingests the
runtime hands each ingress (:meth:`RuntimeMetrics.counted`). Names follow Apache Flink StateFun's own function
metrics where one exists (``in``, ``outLocal``/``outRemote``, ``outEgress``, ``numBacklog``,
``numBlockedAddress``, ``remoteInvocationFailures``, ``remoteInvocationLatency``); docs/observability.md lists
them all.

Usage (what the console's ``GET /metrics`` does)::

    body, content_type = runtime.metrics.exposition(request_accept_header)
"""

from __future__ import annotations

from bisect import bisect_left
from collections import Counter as Tally
from collections.abc import Callable, Iterable, Sequence
from itertools import accumulate

from prometheus_client import CollectorRegistry
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily, Metric
from prometheus_client.exposition import choose_encoder
from prometheus_client.gc_collector import GCCollector
from prometheus_client.platform_collector import PlatformCollector
from prometheus_client.process_collector import ProcessCollector
from prometheus_client.registry import Collector

from statefun_faas.runtime.engine.router import Ingest, Router
from statefun_faas.runtime.records import APPLIED, DEAD_LETTERED, ISOLATED, Envelope, Invocation
from statefun_faas.runtime.store import views
from statefun_faas.runtime.store.database import Store

PREFIX = "statefun"
#: seconds of one request to a function: from a local in-process call to StateFun's default call timeouts
LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120)
#: messages per delivered batch, up to past maxNumBatchRequests' default of 1,000
BATCH_BUCKETS = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000)
LATENCY_DOC = "Seconds of each request to a function, failed ones included (StateFun: remoteInvocationLatency)"
BATCH_DOC = "Messages per batch delivered to a function (applied or dead-lettered)"
#: seconds from a function's answer to its effects committed: mostly the group commit's wait and transaction
COMMIT_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5)
COMMIT_DOC = (
    "Seconds from a function's answer to its effects committed (translating it, the group commit's wait and its "
    "SQLite transaction), for batches applied at their first attempt"
)
TRANSACTION_DOC = (
    "Seconds of each group commit's SQLite transaction: one event-loop turn's ingress messages and applied effects"
)
#: the counters of what was delivered, by function type and endpoint: (name, help, the _Tally field it reads)
COUNTERS = (
    (
        "remote_invocation_failures",
        "Requests to a function that failed (StateFun: remoteInvocationFailures)",
        "failures",
    ),
    ("invocation_retries", "Failed attempts at a batch that another attempt followed", "retries"),
    ("in", "Messages delivered to a function, applied or dead-lettered (StateFun: in)", "messages"),
    ("dead_letters", "Messages that became dead letters", "dead"),
    ("out", "Messages a function sent to functions (StateFun: outLocal + outRemote)", "out"),
    ("out_delayed", "Delayed messages a function sent", "delayed"),
)
INVOCATIONS_DOC = "Batches delivered to a function, by what became of them (isolated: delivered again by halves)"
EGRESS_DOC = "Egress records a function wrote (StateFun: outEgress)"


class _Tally:
    """What was delivered to one function type through one endpoint, as plain numbers: a router observer adds to
    them (about a microsecond per batch, against three through the library's metric objects, whose every update
    takes a lock), the scrape reads them."""

    __slots__ = (
        *("outcomes", "latency", "latency_sum", "failures", "retries", "sizes"),
        *("messages", "dead", "out", "delayed", "egress", "commits", "commit_sum"),
    )

    def __init__(self) -> None:
        self.outcomes = dict.fromkeys((APPLIED, DEAD_LETTERED, ISOLATED), 0)
        self.latency = [0] * (len(LATENCY_BUCKETS) + 1)  # per bucket (the last: +Inf), not cumulative
        self.latency_sum = 0.0
        self.failures = self.retries = 0
        self.sizes = [0] * (len(BATCH_BUCKETS) + 1)
        self.commits = [0] * (len(COMMIT_BUCKETS) + 1)
        self.commit_sum = 0.0
        self.messages = self.dead = self.out = self.delayed = 0
        self.egress: Tally[str] = Tally()


class RuntimeMetrics:
    """The metrics of one runtime: ``router`` is observed, ``store`` and the router's valve are read when scraped."""

    def __init__(self, router: Router, store: Store) -> None:
        self.registry = registry = CollectorRegistry()  # collectors run when scraped only
        self.tallies: dict[tuple[str, str], _Tally] = {}  # (function type, endpoint) -> what was delivered
        self.ingress_in: Tally[str] = Tally()  # messages stored per ingress id
        registry.register(_Deliveries(self.tallies))
        registry.register(_Snapshot(router, store, self.ingress_in))
        registry.register(_Transactions(self))
        ProcessCollector(registry=registry)
        PlatformCollector(registry=registry)
        GCCollector(registry=registry)
        router.observers.append(self.observe)
        self.transactions = [0] * (len(COMMIT_BUCKETS) + 1)  # per bucket, as a _Tally's
        self.transactions_sum = 0.0
        router.commit_observers.append(self.committed)

    def exposition(self, accept: str | None = None) -> tuple[bytes, str]:
        """The body and Content-Type of a scrape: the Prometheus text format, or OpenMetrics when ``accept`` (the
        request's Accept header) asks for it."""
        encode, content_type = choose_encoder(accept or "")
        return encode(self.registry), content_type

    def ingests(self, ingest: Ingest) -> Callable[[str], Ingest]:
        """``ingest`` for each ingress by its id, counting the messages it stored (once they are committed)."""
        made: dict[str, Ingest] = {}

        def ingest_of(ingress_id: str) -> Ingest:
            counting = made.get(ingress_id)
            if counting is None:
                counting = made[ingress_id] = self._counting(ingress_id, ingest)
            return counting

        return ingest_of

    def _counting(self, ingress_id: str, ingest: Ingest) -> Ingest:
        tally = self.ingress_in

        async def counting(envelopes: Sequence[Envelope]) -> None:
            await ingest(envelopes)
            tally[ingress_id] += len(envelopes)

        return counting

    def committed(self, seconds: float) -> None:
        """One group commit's SQLite transaction (a router commit observer)."""
        self.transactions[bisect_left(COMMIT_BUCKETS, seconds)] += 1
        self.transactions_sum += seconds

    def observe(self, invocation: Invocation) -> None:
        """One delivered batch (a router observer): its outcome, requests, failures, retries and writes."""
        key = (invocation.address.typename, invocation.endpoint)
        tally = self.tallies.get(key)
        if tally is None:
            tally = self.tallies[key] = _Tally()
        outcome = invocation.outcome
        tally.outcomes[outcome] += 1
        failed, requested = 0, 0.0
        latency = tally.latency
        for attempt in invocation.attempts:
            latency[bisect_left(LATENCY_BUCKETS, attempt.seconds)] += 1
            requested += attempt.seconds
            failed += attempt.error is not None
        tally.latency_sum += requested
        if failed:
            tally.failures += failed
            tally.retries += failed if outcome == APPLIED else failed - 1  # else the last failure ended them
        if outcome == ISOLATED:  # its messages are counted in the halves it is delivered again in
            return
        size = len(invocation.seqs)
        tally.sizes[bisect_left(BATCH_BUCKETS, size)] += 1
        tally.messages += size
        writes = invocation.writes
        if outcome == DEAD_LETTERED:
            tally.dead += size
        elif writes is not None:
            if not failed:  # no backoff in it: what is not its requests is the runtime's own work
                commit = max(invocation.seconds - requested, 0.0)
                tally.commits[bisect_left(COMMIT_BUCKETS, commit)] += 1
                tally.commit_sum += commit
            tally.out += len(writes.messages)
            tally.delayed += len(writes.delayed)
            egress = writes.egress
            if len(egress) == 1:  # the common case, without counting first
                tally.egress[egress[0].egress_id] += 1
            elif egress:
                tally.egress.update(record.egress_id for record in egress)


class _Deliveries(Collector):
    """The router observer's tallies as metric families, by function type and endpoint."""

    def __init__(self, tallies: dict[tuple[str, str], _Tally]) -> None:
        self.tallies = tallies

    def collect(self) -> Iterable[Metric]:
        labels = ["function_type", "endpoint"]
        invocations = CounterMetricFamily(f"{PREFIX}_invocations", INVOCATIONS_DOC, labels=[*labels, "outcome"])
        counters = [
            (CounterMetricFamily(f"{PREFIX}_{name}", doc, labels=labels), field) for name, doc, field in COUNTERS
        ]
        egress = CounterMetricFamily(f"{PREFIX}_out_egress", EGRESS_DOC, labels=[*labels, "egress"])
        latency = HistogramMetricFamily(f"{PREFIX}_remote_invocation_latency_seconds", LATENCY_DOC, labels=labels)
        sizes = HistogramMetricFamily(f"{PREFIX}_batch_size_messages", BATCH_DOC, labels=labels)
        commits = HistogramMetricFamily(f"{PREFIX}_commit_seconds", COMMIT_DOC, labels=labels)
        for key, tally in sorted(self.tallies.items()):
            for outcome, count in tally.outcomes.items():
                invocations.add_metric([*key, outcome], count)
            for family, field in counters:
                family.add_metric(key, getattr(tally, field))
            for egress_id, count in sorted(tally.egress.items()):
                egress.add_metric([*key, egress_id], count)
            latency.add_metric(key, _buckets(LATENCY_BUCKETS, tally.latency), tally.latency_sum)
            sizes.add_metric(key, _buckets(BATCH_BUCKETS, tally.sizes), tally.messages)
            commits.add_metric(key, _buckets(COMMIT_BUCKETS, tally.commits), tally.commit_sum)
        yield invocations
        yield from (family for family, _ in counters)
        yield from (egress, latency, sizes, commits)


def _buckets(bounds: Sequence[float], counts: list[int]) -> list[tuple[str, float]]:
    """Per-bucket counts as the cumulative ``(le, count)`` pairs of the exposition, +Inf last."""
    les = [str(float(bound)) for bound in bounds] + ["+Inf"]
    return list(zip(les, accumulate(counts), strict=True))


class _Transactions(Collector):
    """The group commits' SQLite transactions, whoever's messages and effects they held."""

    def __init__(self, metrics: RuntimeMetrics) -> None:
        self.metrics = metrics

    def collect(self) -> Iterable[Metric]:
        metrics = self.metrics
        family = HistogramMetricFamily(f"{PREFIX}_store_commit_seconds", TRANSACTION_DOC)
        family.add_metric([], _buckets(COMMIT_BUCKETS, metrics.transactions), metrics.transactions_sum)
        yield family


class _Snapshot(Collector):
    """What the runtime already counts, read when scraped: no cost on the message path."""

    def __init__(self, router: Router, store: Store, ingress_in: Tally[str]) -> None:
        self.router, self.store, self.ingress_in = router, store, ingress_in

    def collect(self) -> Iterable[Metric]:
        yield from self._ingress()
        yield from self._store()
        yield from self._valve()
        yield from self._counters()

    def _ingress(self) -> Iterable[Metric]:
        family = CounterMetricFamily(
            f"{PREFIX}_ingress_messages", "Messages an ingress stored in the inboxes", labels=["ingress"]
        )
        for ingress_id, count in sorted(self.ingress_in.items()):
            family.add_metric([ingress_id], count)
        yield family

    def _store(self) -> Iterable[Metric]:
        backlog = GaugeMetricFamily(
            f"{PREFIX}_backlog_messages",
            "Messages waiting in the inboxes of a function type (StateFun: numBacklog)",
            labels=["function_type"],
        )
        for typename, count in views.backlog(self.store):
            backlog.add_metric([typename], count)
        yield backlog
        egress = GaugeMetricFamily(
            f"{PREFIX}_egress_waiting_records",
            "Egress records stored and not yet read (playground, local topics) or forwarded (Kafka, Kinesis)",
            labels=["egress"],
        )
        for egress_id, count in views.egress_waiting(self.store):
            egress.add_metric([egress_id], count)
        yield egress
        totals = views.totals(self.store)
        yield GaugeMetricFamily(f"{PREFIX}_delayed_messages", "Delayed messages waiting to fire", value=totals.delayed)
        yield GaugeMetricFamily(
            f"{PREFIX}_dead_letters_stored",
            "Dead letters in the store (replayed or discarded ones leave)",
            value=totals.dead_letters,
        )

    def _valve(self) -> Iterable[Metric]:
        valve = self.router.valve
        yield GaugeMetricFamily(
            f"{PREFIX}_ingress_limit_messages",
            "The valve's limit: new ingress waits while the inboxes hold this many messages",
            value=valve.limit,
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_ingress_held_requests", "Ingress requests the valve holds back now", value=valve.held_requests
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_blocked_addresses",
            "Addresses in retry or backoff (StateFun: numBlockedAddress)",
            value=valve.parked_addresses,
        )

    def _counters(self) -> Iterable[Metric]:
        counters = self.router.counters
        yield CounterMetricFamily(
            f"{PREFIX}_delayed_fired", "Delayed messages that fired into their inboxes", value=counters.delayed_fired
        )
        yield CounterMetricFamily(
            f"{PREFIX}_shortage_waits",
            "Calls put off because the runtime ran short of a local resource (open files, memory)",
            value=counters.shortage_waits,
        )
        yield CounterMetricFamily(
            f"{PREFIX}_state_registrations", "State specs registered for function types", value=counters.registrations
        )
