"""What a module.yaml declares: endpoints, ingresses and egresses, as frozen values.

``source`` ("file:line") is where a component was declared; it is not part of equality, so the
same component read from another place (or written back by ``dump_endpoints``) compares equal.
Durations are float seconds.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ENDPOINTS_V2 = "io.statefun.endpoints.v2/http"
ENDPOINTS_V1 = "io.statefun.endpoints.v1/http"
ASYNC_TRANSPORT = "io.statefun.transports.v1/async"
OKHTTP_TRANSPORT = "io.statefun.transports.v1/okhttp"
PLAYGROUND_INGRESS = "io.statefun.playground.v1/ingress"
PLAYGROUND_EGRESS = "io.statefun.playground.v1/egress"
KAFKA_INGRESS = "io.statefun.kafka.v1/ingress"
KAFKA_EGRESS = "io.statefun.kafka.v1/egress"
KINESIS_INGRESS = "io.statefun.kinesis.v1/ingress"
KINESIS_EGRESS = "io.statefun.kinesis.v1/egress"
PLAYGROUND_INGRESS_ID = "io.statefun.playground/ingress"
PLAYGROUND_EGRESS_ID = "io.statefun.playground/egress"
PLAYGROUND_INGRESS_PORT = 8090
PLAYGROUND_EGRESS_PORT = 8091
DEFAULT_MAX_NUM_BATCH_REQUESTS = 1000
FUNCTION_NAME_PLACEHOLDER = "{function.name}"
#: the values of an endpoint's ``failureMode`` (a key of the com.sbbsystems.flink fork of StateFun)
FAIL_MODE, DROP_MODE = "FAIL", "DROP"


@dataclass(frozen=True)
class Timeouts:
    """Seconds. ``call`` bounds a whole call including retries; the others bound one step."""

    call: float
    connect: float
    read: float
    write: float


OKHTTP_TIMEOUTS = Timeouts(call=60.0, connect=10.0, read=10.0, write=10.0)
# The async (Netty) transport has no read/write timeouts of its own: they default to the call budget.
ASYNC_TIMEOUTS = Timeouts(call=120.0, connect=20.0, read=120.0, write=120.0)
DEFAULT_TIMEOUTS = {OKHTTP_TRANSPORT: OKHTTP_TIMEOUTS, ASYNC_TRANSPORT: ASYNC_TIMEOUTS}


_URL_DELIMITER = re.compile(r"[:/?#\[\]@\\%\x00-\x20\x7f]")


def _split(typename: str) -> tuple[str, str]:
    namespace, _, name = typename.rpartition("/")
    return namespace, name


@dataclass(frozen=True)
class Endpoint:
    """Where the functions matching ``functions`` ("ns/name" or "ns/*") are served.

    ``max_num_batch_requests`` <= 0 means no limit. ``spec`` holds the other transport
    properties as written (pool_ttl, pool_size, payload_max_bytes, TLS files, ...).
    ``failure_mode`` is FAIL_MODE or DROP_MODE as written, None when not given (the local runtime then
    drops, as with DROP).
    """

    functions: str
    url_path_template: str
    max_num_batch_requests: int
    timeouts: Timeouts
    transport: str
    kind: str
    source: str = field(default="", compare=False)
    spec: Mapping[str, Any] = field(default_factory=dict, hash=False)
    failure_mode: str | None = None

    @property
    def is_namespace(self) -> bool:
        return self.functions.endswith("/*")

    def matches(self, typename: str) -> bool:
        namespace, name = _split(typename)
        if self.is_namespace:
            return bool(name) and namespace == self.functions[:-2]
        return typename == self.functions

    @property
    def directory(self) -> Path:
        """The folder of the module file that declares the endpoint (relative TLS files are read there)."""
        return Path(self.source.rpartition(":")[0] or ".").parent

    def url_for(self, typename: str) -> str:
        """The URL for one function type: every ``{function.name}`` becomes its name part."""
        return self.url_path_template.replace(FUNCTION_NAME_PLACEHOLDER, _split(typename)[1])


@dataclass(frozen=True)
class Route:
    """Records of ``topic`` (a Kafka topic or Kinesis stream) become ``value_type`` messages to ``targets``."""

    topic: str
    value_type: str
    targets: tuple[str, ...]


@dataclass(frozen=True)
class Ingress:
    """An ingress; ``spec`` is its spec mapping as written (ids included)."""

    id: str
    kind: str
    source: str = field(compare=False)
    port: int | None = None
    routes: tuple[Route, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Egress:
    """An egress; ``topics`` are the playground egress's declared topics."""

    id: str
    kind: str
    source: str = field(compare=False)
    port: int | None = None
    topics: tuple[str, ...] = ()
    spec: Mapping[str, Any] = field(default_factory=dict, hash=False)


@dataclass(frozen=True)
class Module:
    """Everything the module files declare, merged; ``files`` are the files read, in order."""

    endpoints: tuple[Endpoint, ...] = ()
    ingresses: tuple[Ingress, ...] = ()
    egresses: tuple[Egress, ...] = ()
    files: tuple[str, ...] = ()
    #: "file:line: field: unknown field, ignored; ..." for fields StateFun would silently ignore.
    warnings: tuple[str, ...] = field(default=(), compare=False)
    _by_pattern: dict[str, Endpoint] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_by_pattern", {endpoint.functions: endpoint for endpoint in self.endpoints})

    def endpoint_for(self, typename: str) -> Endpoint | None:
        """The endpoint serving ``typename``: an exact function type wins over ``ns/*``.

        A name matched only by ``ns/*`` and holding a URL delimiter (``: / ? # [ ] @ \\ %``, a space or
        a control character) is served by none: put into ``{function.name}`` it could pick the host or
        port the runtime calls, and module.yaml's hosts are the only ones it may call.
        """
        namespace, name = _split(typename)
        if not name or name == "*":
            return None
        exact = self._by_pattern.get(typename)
        if exact is not None or _URL_DELIMITER.search(name):
            return exact
        return self._by_pattern.get(f"{namespace}/*")

    def ingress(self, ingress_id: str) -> Ingress | None:
        return next((ingress for ingress in self.ingresses if ingress.id == ingress_id), None)

    def egress(self, egress_id: str) -> Egress | None:
        return next((egress for egress in self.egresses if egress.id == egress_id), None)
