"""The HTTP invoker (the runtime's own keep-alive client) and the routes of a module.yaml's endpoints."""

from __future__ import annotations

import errno
import ssl
from collections.abc import Callable

from statefun_faas.moduleyaml import tls
from statefun_faas.moduleyaml.model import ASYNC_TRANSPORT, FAIL_MODE, Endpoint, Module
from statefun_faas.redact import redact_url
from statefun_faas.runtime.engine.failures import Failure, InvocationError, LocalResourceError
from statefun_faas.runtime.engine.router import FunctionRoute, Routes
from statefun_faas.runtime.http.client import AnswerTooLargeError, HttpClient, HttpFramingError, Target
from statefun_faas.runtime.records import Address

OCTET_STREAM = "application/octet-stream"
REQUEST_HEADERS = {"Content-Type": OCTET_STREAM, "Accept": OCTET_STREAM, "User-Agent": "statefun-faas"}
# Statuses StateFun's OkHttp transport retries besides 5xx; every other 4xx is final (see failure_of).
RETRYABLE_4XX = frozenset({408, 409, 420, 429, 499})
#: the async transport's default bound on an answer (``payload_max_bytes``)
PAYLOAD_MAX_BYTES = 32 * 1024 * 1024
#: OkHttp sets no bound of its own; the local runtime still keeps an answer within this one
OKHTTP_MAX_ANSWER = 256 * 1024 * 1024
#: out of descriptors (per process, system-wide), socket buffers, kernel memory: no fault of the function's
SHORTAGE_ERRNOS = frozenset({errno.EMFILE, errno.ENFILE, errno.ENOBUFS, errno.ENOMEM})


class HttpInvoker:
    """POSTs ToFunction bytes to one URL; checks the answer as StateFun's transports do."""

    def __init__(
        self, client: HttpClient, url: str, endpoint: Endpoint, tls_of: Callable[[Endpoint], ssl.SSLContext | None]
    ) -> None:
        self.client, self.url, self.endpoint, self.tls_of = client, url, endpoint, tls_of
        self.target: Target | None = None

    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        timeouts = self.endpoint.timeouts
        try:
            target = self.target or self._target()  # a ValueError (an unusable URL) dead-letters, see Router._call
            answer = await self.client.post(target, body, budget, timeouts.connect, timeouts.read)
        except TimeoutError:
            raise InvocationError(f"POST {redact_url(self.url)} timed out", Failure.TRANSIENT) from None
        except AnswerTooLargeError as error:
            bound = (
                "payload_max_bytes); raise it in module.yaml"
                if self.endpoint.transport == ASYNC_TRANSPORT
                else "the local runtime's bound on okhttp answers); send less state or fewer messages per answer"
            )
            raise InvocationError(f"POST {redact_url(self.url)}: {error} ({bound}", Failure.REFUSED) from None
        except (OSError, HttpFramingError, ValueError) as error:
            reason = f"POST {redact_url(self.url)} failed: {type(error).__name__}: {error}"
            if shortage(error) is not None:  # e.g. out of descriptors: this process's problem, not the function's
                raise LocalResourceError(reason) from None
            if isinstance(error, ValueError):
                raise
            raise InvocationError(reason, Failure.TRANSIENT) from None
        return _check(self.url, answer.status, answer.headers.get("content-type"), answer.body)

    def _target(self) -> Target:
        endpoint = self.endpoint
        context = self.tls_of(endpoint)
        limit = OKHTTP_MAX_ANSWER
        if endpoint.transport == ASYNC_TRANSPORT:
            limit = int(endpoint.spec.get("payload_max_bytes", PAYLOAD_MAX_BYTES))
        self.target = Target.of(self.url, REQUEST_HEADERS, context, limit)
        return self.target


def shortage(error: BaseException) -> OSError | None:
    """The OSError in ``error`` or in what caused it (e.g. TLS files unreadable for want of a descriptor) that
    says this process or machine ran short of a resource, if any."""
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, OSError) and current.errno in SHORTAGE_ERRNOS:
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _check(url: str, status: int, content_type: str | None, payload: bytes) -> bytes:
    if 200 <= status < 300:
        if content_type != OCTET_STREAM:
            raise InvocationError(
                f"POST {redact_url(url)} answered {status} with Content-Type {content_type!r}; "
                f"a StateFun function must "
                f"answer exactly {OCTET_STREAM!r}",
                Failure.MISCONFIGURED,
            )
        return payload
    detail = payload[:200].decode("utf-8", "replace").strip()
    raise InvocationError(f"POST {redact_url(url)} answered HTTP {status}: {detail}", failure_of(status))


def failure_of(status: int) -> Failure:
    """What a status other than 2xx says (docs/troubleshooting.md, "The local runtime's failure policy"): 500 is
    the SDKs' answer when user code raised; the other 5xx and the statuses OkHttp retries are the function
    away or busy; any other 4xx refuses the batch (perhaps for one message); a 1xx or 3xx (redirects are not
    followed) is the endpoint's URL."""
    if status == 500:
        return Failure.RAISED
    if status > 500 or status in RETRYABLE_4XX:
        return Failure.TRANSIENT
    return Failure.REFUSED if 400 <= status < 500 else Failure.MISCONFIGURED


class EndpointRoutes:
    """Routes function types to the module's endpoints; a new type behind a template works at once. Every
    endpoint's calls go through ``client`` (one pool of keep-alive connections)."""

    def __init__(self, client: HttpClient, module: Module) -> None:
        self.client = client
        self.module = module
        self._cache: dict[str, FunctionRoute | None] = {}
        self._tls: dict[Endpoint, ssl.SSLContext | None] = {}  # one per endpoint: its types share connections

    def reload(self, module: Module) -> None:
        self.module = module
        self._cache.clear()
        self._tls.clear()  # TLS files are read again

    def __call__(self, typename: str) -> FunctionRoute | None:
        route = self._cache.get(typename)
        if route is None and typename not in self._cache:
            route = self._cache[typename] = self._route(typename)
        return route

    def _route(self, typename: str) -> FunctionRoute | None:
        endpoint = self.module.endpoint_for(typename)
        if endpoint is None:
            return None
        invoker = HttpInvoker(self.client, endpoint.url_for(typename), endpoint, self._tls_of)
        drop = endpoint.failure_mode != FAIL_MODE
        url = redact_url(endpoint.url_for(typename))
        return FunctionRoute(invoker, endpoint.max_num_batch_requests, endpoint.timeouts.call, drop, url)

    def _tls_of(self, endpoint: Endpoint) -> ssl.SSLContext | None:
        """The endpoint's SSL context, made on first use; raises ValueError (a dead letter) while its files
        are unusable."""
        if endpoint not in self._tls:
            where = f"{endpoint.functions} ({endpoint.source})"
            self._tls[endpoint] = tls.context_for(endpoint.spec, endpoint.directory, where)
        return self._tls[endpoint]


def first_of(*routes: Routes) -> Routes:
    """Try each routes function in turn (``dev``: the in-process registry, then module.yaml endpoints)."""

    def route(typename: str) -> FunctionRoute | None:
        for candidate in routes:
            found = candidate(typename)
            if found is not None:
                return found
        return None

    return route
