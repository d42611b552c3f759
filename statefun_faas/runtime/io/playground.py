"""Local I/O over HTTP (the runtime's own small HTTP/1.1 server): the playground ingress and egress, and
Kafka/Kinesis local topics.

On one port, by path shape: ``/<namespace>/<type>/<id>`` (any method) is the playground ingress,
``/<topic>/<key>`` (any method) a record for a local Kafka topic or Kinesis stream, and
``GET /<topic>`` pops one egress record.
"""

from __future__ import annotations

import asyncio
import logging
import socket
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from urllib.parse import quote

from statefun_faas.moduleyaml.model import Route
from statefun_faas.runtime.defaults import WARNING_HEADER
from statefun_faas.runtime.engine.egress import stored_value
from statefun_faas.runtime.engine.router import Ingest
from statefun_faas.runtime.http.server import HttpLimits, HttpServer, Request, Response
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store

logger = logging.getLogger("statefun_faas.runtime")

VND_PREFIX = "application/vnd."
DEFAULT_TYPENAME = "io.statefun.types/string"
TEXT = "text/plain; charset=utf-8"
OK = Response(200)
#: whether a function type has a function to deliver to (the router's routes know)
Served = Callable[[str], bool]
#: the ingest of one ingress, by its id (so that what each ingress stores can be counted)
IngestOf = Callable[[str], Ingest]


def text(status: int, message: str) -> Response:
    return Response(status, message.encode("utf-8"), TEXT)


@dataclass(frozen=True)
class EgressTopics:
    """An egress readable on a port; ``topics`` None accepts every topic (local Kafka/Kinesis topics)."""

    egress_id: str
    topics: tuple[str, ...] | None


class TopicRoute(NamedTuple):
    """A route of a Kafka or Kinesis ingress bound to a local topic, with the ingress's id."""

    ingress_id: str
    route: Route


@dataclass
class PortPlan:
    """What one local port serves."""

    port: int
    local_io: bool = False  # Kafka/Kinesis kinds bound to local topics
    playground_ingress: str | None = None  # the id of the playground ingress it serves, if any
    routes: list[TopicRoute] = field(default_factory=list)
    egresses: list[EgressTopics] = field(default_factory=list)

    def describe(self) -> str:
        parts = ["playground ingress /<namespace>/<type>/<id>"] if self.playground_ingress else []
        parts += [f"local topic {route.topic} -> {', '.join(route.targets)}" for _, route in self.routes]
        for egress in self.egresses:
            topics = "any topic" if egress.topics is None else ", ".join(egress.topics) or "no topics"
            parts.append(f"egress {egress.egress_id} (GET /<topic>: {topics})")
        return "; ".join(parts)


def message_typename(content_type: str | None) -> str:
    """The typename a playground ingress message carries: ``application/vnd.<typename>`` or a string."""
    if content_type and content_type.startswith(VND_PREFIX):
        typename = content_type[len(VND_PREFIX) :].split(";", 1)[0].strip()
        if typename:
            return typename
    return DEFAULT_TYPENAME


def unserved(typename: str) -> Response:
    """The answer to a message stored for a function type nothing serves: 200 as the contract says, with a
    warning header, so that a caller who reads it (``statefun-faas send``) learns the message is lost to the
    dead letters. The typename came percent-decoded from the path: quoted again, it is a safe header value."""
    warning = f"no endpoint serves function type {quote(typename, safe='/')}; the message goes to the dead letters"
    return Response(200, headers=((WARNING_HEADER, warning),))


class LocalIo:
    """The request handler of one port: ingress messages go to their ingress's ingest (``ingest_of``), egress
    records come from ``store``; ``served`` tells the playground ingress which function types have a function."""

    def __init__(self, store: Store, ingest_of: IngestOf, served: Served, plan: PortPlan) -> None:
        self.store, self.ingest_of, self.served, self.plan = store, ingest_of, served, plan

    async def handle(self, request: Request) -> Response:
        segments = request.path.split("/")[1:]
        if len(segments) == 3 and all(segments) and self.plan.playground_ingress:
            return await self._ingress(request, segments, self.plan.playground_ingress)
        if len(segments) == 2 and all(segments) and self.plan.routes:
            return await self._topic_ingress(request, segments[0], segments[1])
        if len(segments) == 1 and segments[0] and self.plan.egresses:
            return self._egress(request, segments[0])
        return text(404, f"nothing here: {self._usage()}\n")

    def _usage(self) -> str:
        return self.plan.describe() or "no ingress or egress on this port"

    async def _ingress(self, request: Request, segments: list[str], ingress_id: str) -> Response:
        namespace, name, id_ = segments
        typename = f"{namespace}/{name}"
        argument = Value(message_typename(request.headers.get("content-type")), request.body)
        await self.ingest_of(ingress_id)([Envelope(Address(typename, id_), argument)])
        return OK if self.served(typename) else unserved(typename)

    async def _topic_ingress(self, request: Request, topic: str, key: str) -> Response:
        by_ingress: dict[str, list[Envelope]] = {}
        for ingress_id, route in self.plan.routes:
            if route.topic == topic:
                by_ingress.setdefault(ingress_id, []).extend(
                    Envelope(Address(target, key), Value(route.value_type, request.body)) for target in route.targets
                )
        if not by_ingress:
            return text(404, f"no ingress reads topic {topic!r}: {self._usage()}\n")
        stores = [self.ingest_of(ingress_id)(envelopes) for ingress_id, envelopes in by_ingress.items()]
        if len(stores) == 1:
            await stores[0]
        else:  # ingresses reading the same topic: stored in the same loop turn, so in one commit
            await asyncio.gather(*stores)
        targets = dict.fromkeys(e.target.typename for envelopes in by_ingress.values() for e in envelopes)
        missing = [typename for typename in targets if not self.served(typename)]
        return unserved(missing[0]) if missing else OK

    def _egress(self, request: Request, topic: str) -> Response:
        if request.method != "GET":
            return text(405, "read egress topics with GET /<topic>\n")
        readable = [e for e in self.plan.egresses if e.topics is None or topic in e.topics]
        if not readable:
            return text(405, f"topic {topic!r} is not declared: {self._usage()}\n")
        for egress in readable:
            record = self.store.pop_egress(egress.egress_id, topic)
            if record is not None:
                return Response(200, stored_value(record))
        return Response(404)


class LocalServer:
    """One listening port."""

    def __init__(
        self,
        store: Store,
        ingest_of: IngestOf,
        served: Served,
        plan: PortPlan,
        host: str,
        limits: HttpLimits | None = None,
    ) -> None:
        self.plan, self.host = plan, host
        self._server = HttpServer(LocalIo(store, ingest_of, served, plan).handle, limits)
        self.port = plan.port

    async def start(self) -> None:
        sock = socket.socket(socket.AF_INET6 if ":" in self.host else socket.AF_INET)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.plan.port))
        except OSError as error:
            sock.close()
            raise OSError(
                f"can not listen on {self.host}:{self.plan.port} ({error.strerror}); change the port"
            ) from None
        self.port = sock.getsockname()[1]
        await self._server.start(sock)

    async def stop(self) -> None:
        await self._server.stop()
