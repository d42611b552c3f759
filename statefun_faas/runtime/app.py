"""The runtime as one object: store, router, function routes, local I/O ports, sinks, state expiry, module watcher."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

from statefun_faas.functions import StatefulFunctions
from statefun_faas.moduleyaml.model import (
    KAFKA_EGRESS,
    KAFKA_INGRESS,
    KINESIS_EGRESS,
    KINESIS_INGRESS,
    PLAYGROUND_EGRESS,
    PLAYGROUND_EGRESS_ID,
    PLAYGROUND_EGRESS_PORT,
    PLAYGROUND_INGRESS,
    PLAYGROUND_INGRESS_ID,
    PLAYGROUND_INGRESS_PORT,
    Egress,
    Ingress,
    Module,
)
from statefun_faas.moduleyaml.reader import load_module
from statefun_faas.redact import redact_url
from statefun_faas.runtime.console import RELOADS_KEPT, Console, ConsoleOptions, ModuleReload
from statefun_faas.runtime.defaults import HOST, LOCAL_IO_PORT, STATE_DIR
from statefun_faas.runtime.engine.egress import (
    KAFKA_RECORDS,
    KINESIS_RECORDS,
    Doorbell,
    EgressBinding,
    PlaygroundEgress,
)
from statefun_faas.runtime.engine.router import Router
from statefun_faas.runtime.http.client import HttpClient
from statefun_faas.runtime.http.server import HttpLimits
from statefun_faas.runtime.invoke.inprocess import in_process_routes
from statefun_faas.runtime.invoke.remote import EndpointRoutes, first_of
from statefun_faas.runtime.io import kafka, kinesis, sinks
from statefun_faas.runtime.io.playground import EgressTopics, IngestOf, LocalServer, PortPlan, TopicRoute
from statefun_faas.runtime.metrics import RuntimeMetrics
from statefun_faas.runtime.store.database import Store
from statefun_faas.runtime.store.expiry import expire_state
from statefun_faas.runtime.store.history import DEFAULT_KEEP, History, flush_history
from statefun_faas.runtime.supervisor import supervise
from statefun_faas.runtime.watch import Watcher

logger = logging.getLogger("statefun_faas.runtime")


@dataclass
class Options:
    state_dir: str | Path = STATE_DIR
    host: str = HOST
    synchronous: str = "NORMAL"
    local_io_port: int = LOCAL_IO_PORT
    egress_overrides: Sequence[str] = ()
    poll_s: float = 0.5
    #: bind Kafka and Kinesis kinds to local topics, not to their brokers (Kafka kinds whose broker does
    #: not answer at start are bound to local topics anyway)
    local_io: bool = False
    #: ``dev`` without a module.yaml: the ports of the playground ingress and of its egress (any topic).
    playground_ports: tuple[int, int] | None = None
    #: header and idle timeouts, connection cap and body limit of every listening port
    http: HttpLimits = field(default_factory=HttpLimits)
    #: invocations the history keeps in the store (``statefun-faas trace``, the console); 0: none
    history: int = DEFAULT_KEEP
    #: the web console's port (host, port, tokens; see runtime/console); None: no console
    console: ConsoleOptions | None = None


#: (kind, id) of the Kafka components bound to their broker (see kafka.bind)
Brokers = frozenset[tuple[str, str]]


def port_plans(module: Module, options: Options, brokers: Brokers = frozenset()) -> list[PortPlan]:
    """Which port serves what; components declared on the same non-zero port share it."""
    plans: list[PortPlan] = []
    local = PortPlan(options.local_io_port, local_io=True)

    def plan_for(port: int) -> PortPlan:
        found = next((p for p in plans if p.port == port and port != 0), None)
        if found is None:
            found = PortPlan(port)
            plans.append(found)
        return found

    if options.playground_ports is not None:
        plan_for(options.playground_ports[0]).playground_ingress = PLAYGROUND_INGRESS_ID
        plan_for(options.playground_ports[1]).egresses.append(EgressTopics(PLAYGROUND_EGRESS_ID, None))
    for ingress in module.ingresses:
        if ingress.kind == PLAYGROUND_INGRESS:
            plan_for(PLAYGROUND_INGRESS_PORT if ingress.port is None else ingress.port).playground_ingress = ingress.id
        elif is_local(ingress, options, brokers):
            local.routes.extend(TopicRoute(ingress.id, route) for route in ingress.routes)
    for egress in module.egresses:
        if egress.kind == PLAYGROUND_EGRESS:
            port = PLAYGROUND_EGRESS_PORT if egress.port is None else egress.port
            plan_for(port).egresses.append(EgressTopics(egress.id, egress.topics))
        elif is_local(egress, options, brokers):
            local.egresses.append(EgressTopics(egress.id, None))
    if local.routes or local.egresses:
        plans.append(local)
    return plans


def is_local(component: Ingress | Egress, options: Options, brokers: Brokers = frozenset()) -> bool:
    """Kafka kinds run on local topics unless bound to their broker; Kinesis ones with --local-io."""
    if component.kind in (KAFKA_INGRESS, KAFKA_EGRESS):
        return (component.kind, component.id) not in brokers
    return component.kind not in (KINESIS_INGRESS, KINESIS_EGRESS) or options.local_io


def broker_tasks(
    store: Store, ingest_of: IngestOf, module: Module, options: Options, brokers: Brokers, doorbell: Doorbell
) -> list[asyncio.Task[None]]:
    """Kinesis and Kafka consumers and forwarders, for the kinds that are not bound locally; ``doorbell``
    wakes the forwarders when records are stored for them."""
    tasks = []
    for ingress in module.ingresses:
        if ingress.kind == KINESIS_INGRESS and not options.local_io:
            poll = partial(kinesis.poll_ingress, store, ingest_of(ingress.id), ingress)
            tasks.append(supervise(f"Kinesis ingress {ingress.id}", poll))
        elif ingress.kind == KAFKA_INGRESS and not is_local(ingress, options, brokers):
            consume = partial(kafka.consume_ingress, store, ingest_of(ingress.id), ingress)
            tasks.append(supervise(f"Kafka ingress {ingress.id}", consume))
    for egress in module.egresses:
        if egress.kind == KINESIS_EGRESS and not options.local_io:
            tasks.append(
                supervise(f"Kinesis egress {egress.id}", partial(kinesis.forward_egress, store, egress, doorbell))
            )
        elif egress.kind == KAFKA_EGRESS and not is_local(egress, options, brokers):
            tasks.append(supervise(f"Kafka egress {egress.id}", partial(kafka.forward_egress, store, egress, doorbell)))
    return tasks


def egress_bindings(module: Module, options: Options) -> dict[str, EgressBinding]:
    bindings: dict[str, EgressBinding] = {}
    if options.playground_ports is not None:
        bindings[PLAYGROUND_EGRESS_ID] = PlaygroundEgress(None)
    for egress in module.egresses:
        if egress.kind == PLAYGROUND_EGRESS:
            bindings[egress.id] = PlaygroundEgress(egress.topics)
        elif egress.kind == KAFKA_EGRESS:
            bindings[egress.id] = KAFKA_RECORDS  # on a broker or local topics alike (a forwarder or none)
        elif egress.kind == KINESIS_EGRESS:
            bindings[egress.id] = KINESIS_RECORDS
    return bindings


class Runtime:
    """Runs a StateFun application: ``await runtime.start()`` ... ``await runtime.stop()``."""

    def __init__(
        self,
        module_paths: Sequence[str] = (),
        functions: StatefulFunctions | None = None,
        options: Options | None = None,
    ) -> None:
        self.options = options or Options()
        self.module_paths = list(module_paths)
        self.module = load_module(*self.module_paths) if self.module_paths else Module()
        #: module reloads while running, the newest last (the console shows them)
        self.reloads: deque[ModuleReload] = deque(maxlen=RELOADS_KEPT)
        # checked before the state folder is taken: a console refused (no token off loopback) takes nothing
        self.console = None if self.options.console is None else Console(self, self.options.console, self.options.http)
        overrides = sinks.parse_overrides(self.options.egress_overrides)
        # the folder's one owner from here to stop(); StateFolderBusyError while another runtime owns it
        self.store = Store.in_directory(self.options.state_dir, self.options.synchronous)
        self.store.checkpoint_in_background()
        self.functions = functions
        self.servers: list[LocalServer] = []
        self._plans: list[PortPlan] = []
        self._egresses: dict[str, EgressBinding] = {}
        self._tasks: list[asyncio.Task[None]] = []
        self._broker_tasks: list[asyncio.Task[None]] = []
        self._kafka: kafka.Bindings = {}
        self._client = HttpClient()  # one pool for every endpoint's calls; opens nothing before the first
        self._endpoints = EndpointRoutes(self._client, self.module)
        routes = self._endpoints if functions is None else first_of(in_process_routes(functions), self._endpoints)
        self.router = Router(self.store, routes, lambda egress_id: self._egresses.get(egress_id))
        self.router.sinks.extend(overrides)
        self._doorbell = Doorbell()  # wakes the Kafka and Kinesis forwarders when a commit stored their records
        self.router.sinks.append(self._doorbell.ring)
        self.history = History(self.store, self.options.history)  # written apart, by flush_history
        if self.options.history:
            self.router.observers.append(self.history.observe)
        #: Prometheus metrics: ``body, content_type = runtime.metrics.exposition(accept_header)``
        self.metrics = RuntimeMetrics(self.router, self.store)
        self._ingest_of = self.metrics.ingests(self.router.submit_grouped)  # each ingress's, counting its messages

    @property
    def ports(self) -> dict[str, int]:
        """Bound ports by role: ``ingress``, ``egress``, ``local-io``, ``console``."""
        found: dict[str, int] = {"console": self.console.port} if self.console is not None and self.console.port else {}
        for server in self.servers:
            if server.plan.playground_ingress:
                found.setdefault("ingress", server.port)
            if server.plan.local_io:
                found.setdefault("local-io", server.port)
            if server.plan.egresses:
                found.setdefault("egress", server.port)
        return found

    async def start(self) -> None:
        """Open the ports and deliver what waits; on failure (e.g. a port in use) everything is closed."""
        self._log_start()
        try:
            await self.apply_module(self.module, first=True)
            if self.console is not None:
                await self.console.start()
                logger.info("console: %s", self.console.url)
        except BaseException:
            await self.stop()
            raise
        self.router.recover()
        watcher = Watcher(
            self.module_paths, self.options.poll_s, self.apply_module, self.store.data_version, self.router.recover
        )
        self._tasks = [
            supervise("delayed-message timer", self.router.run_timer),
            supervise("state expiry", partial(expire_state, self.store, self.router.clock)),
            supervise("module and state watcher", watcher.run),
        ]
        if self.options.history:
            self._tasks.append(supervise("invocation history", partial(flush_history, self.history)))

    async def apply_module(self, module: Module, first: bool = False) -> None:
        """Use ``module`` from now on; state, inboxes and unchanged ports stay as they are."""
        if not self.options.local_io:
            kinesis.require_boto3(module)  # before anything changes, so a refused reload keeps the previous module
        if not first:
            self.reloads.append(ModuleReload.between(self.module, module, time.time()))
        self.module = module
        self._endpoints.reload(module)
        self._kafka = await kafka.bind(module, self.options.local_io, self._kafka)
        brokers = kafka.bound(self._kafka)
        self._egresses = egress_bindings(module, self.options)
        await _cancel(self._broker_tasks)
        self._broker_tasks = broker_tasks(self.store, self._ingest_of, module, self.options, brokers, self._doorbell)
        plans = port_plans(module, self.options, brokers)
        if plans != self._plans:
            await self._stop_servers()
            for plan in plans:
                server = LocalServer(
                    self.store,
                    self._ingest_of,
                    lambda typename: self.router.routes(typename) is not None,  # served: it has a route
                    plan,
                    self.options.host,
                    self.options.http,
                )
                await server.start()
                self.servers.append(server)
                logger.info("listening on http://%s:%d: %s", self.options.host, server.port, plan.describe())
            self._plans = plans
        if not first:
            logger.info("module reloaded: %d endpoint(s), %d ingress(es), %d egress(es)", *_sizes(module))

    async def stop(self) -> None:
        if self.console is not None:
            await self.console.stop()
        await _cancel(self._tasks + self._broker_tasks)
        await self._stop_servers()
        await self.router.close()
        await self._client.close()
        sinks.close(self.router.sinks)
        self.history.flush()
        self.store.close()
        logger.info("stopped: %s", ", ".join(f"{k} {v}" for k, v in vars(self.router.counters).items()))

    async def _stop_servers(self) -> None:
        for server in self.servers:
            await server.stop()
        self.servers = []

    def _log_start(self) -> None:
        options = self.options
        logger.info("state in %s (SQLite WAL, synchronous=%s)", Path(options.state_dir).resolve(), options.synchronous)
        for path in self.module_paths:
            logger.info("module %s: %d endpoint(s), %d ingress(es), %d egress(es)", path, *_sizes(self.module))
        for endpoint in self.module.endpoints:
            logger.info(
                "endpoint %s -> %s (maxNumBatchRequests %d, call timeout %gs)",
                endpoint.functions,
                redact_url(endpoint.url_path_template),
                endpoint.max_num_batch_requests,
                endpoint.timeouts.call,
            )
        if self.functions is not None:
            logger.info("in-process functions: %s", ", ".join(self.functions.typenames) or "none")
        kinesis_kinds = (KINESIS_INGRESS, KINESIS_EGRESS)
        components: list[Ingress | Egress] = [*self.module.ingresses, *self.module.egresses]
        local = [c.id for c in components if c.kind in kinesis_kinds]
        if local and self.options.local_io:
            logger.info("%s on local topics (--local-io)", ", ".join(local))
        waiting, delayed = self.store.inbox_size(), self.store.count_delayed()
        if waiting or delayed:
            logger.info("recovering %d waiting and %d delayed message(s)", waiting, delayed)


async def _cancel(tasks: list[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
    tasks.clear()


def _sizes(module: Module) -> tuple[int, int, int]:
    return len(module.endpoints), len(module.ingresses), len(module.egresses)
