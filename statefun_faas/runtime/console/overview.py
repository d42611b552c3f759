"""The overview (live counters), the functions with their endpoints and module reloads, and ``/metrics``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from statefun_faas.redact import redact_url
from statefun_faas.runtime.console.layout import Html, join, link, page, refresh_switch, table, tag, url, when
from statefun_faas.runtime.console.params import Asked
from statefun_faas.runtime.http.server import Response
from statefun_faas.runtime.store import views
from statefun_faas.runtime.values import describe

if TYPE_CHECKING:
    from statefun_faas.runtime.console.server import Console

COUNTERS = {  # the router's counters, in words
    "messages": "messages delivered",
    "batches": "batches applied",
    "requests": "requests to functions",
    "retries": "retries",
    "shortage_waits": "waits for a local resource",
    "registrations": "states registered",
    "dead_letters": "messages dead-lettered",
    "egress_records": "egress records written",
    "delayed_fired": "delayed messages fired",
}


def _tile(value: object, label: str, href: str | None = None) -> Html:
    shown = link(href, f"{value:,}" if isinstance(value, int) else value) if href else tag("span", value)
    return tag("div", join([tag("b", shown), label]))


async def overview(console: Console, asked: Asked) -> bytes:
    refresh = asked.params.refresh()
    runtime = console.runtime
    router, totals = runtime.router, views.totals(runtime.store)
    now = [
        _tile(runtime.store.pending, "messages waiting in the inboxes", "/addresses"),
        _tile(totals.delayed, "delayed messages pending"),
        _tile(totals.dead_letters, "dead letters", "/dead-letters"),
        _tile(router.valve.limit, "ingress valve limit (messages in the inboxes)"),
        _tile(totals.invocations, "invocations in the history"),
    ]
    counted = [_tile(value, COUNTERS.get(name, name)) for name, value in vars(router.counters).items()]
    ports = table(["role", "port"], sorted(runtime.ports.items()), "no ingress or egress port")
    return page(
        "Overview",
        refresh_switch("/", refresh),
        tag("h2", "Now"),
        tag("div", join(now), class_="counters"),
        tag("h2", "Since the runtime started"),
        tag("div", join(counted), class_="counters"),
        tag("h2", "Ports"),
        ports,
        tag("p", join(["Prometheus metrics: ", link("/metrics", "/metrics")]), class_="muted"),
        refresh=refresh,
    )


async def functions(console: Console, asked: Asked) -> bytes:
    runtime = console.runtime
    module = runtime.module
    endpoints = [
        [
            _types_link(endpoint.functions),
            tag("code", redact_url(endpoint.url_path_template)),
            endpoint.transport.rpartition("/")[2],
            endpoint.max_num_batch_requests,
            f"{endpoint.timeouts.call:g} s",
            endpoint.failure_mode or "DROP",
            endpoint.source,
        ]
        for endpoint in module.endpoints
    ]
    parts: list[object] = [
        tag("h2", "Endpoints (module.yaml)"),
        table(["functions", "URL", "transport", "batch", "call timeout", "failure mode", "declared at"], endpoints),
    ]
    if runtime.functions is not None:
        in_process = [_function_row(console, typename) for typename in runtime.functions.typenames]
        parts += [tag("h2", "In-process functions (dev)"), table(["function type", "states"], in_process)]
    components = [[c.id, c.kind, "" if c.port is None else c.port, c.source] for c in module.ingresses]
    components += [[e.id, e.kind, "" if e.port is None else e.port, e.source] for e in module.egresses]
    reloads = [
        [when(r.at), r.endpoints, r.ingresses, r.egresses, ", ".join(r.added), ", ".join(r.removed)]
        for r in reversed(runtime.reloads)
    ]
    parts += [
        tag("h2", "Ingresses and egresses"),
        table(["id", "kind", "port", "declared at"], components),
        tag("h2", "Module reloads"),
        table(
            ["at", "endpoints", "ingresses", "egresses", "endpoints added", "endpoints removed"],
            reloads,
            "none since the runtime started",
        ),
    ]
    return page("Functions", *parts)


def _types_link(functions: str) -> Html:
    """A link to the addresses of a function type, or of a namespace (``ns/*``)."""
    return link(url("/addresses", typename=functions), functions)


def _function_row(console: Console, typename: str) -> list[object]:
    specs = console.runtime.store.specs(typename)
    described = [f"{name}: {describe(spec)}" for name, spec in specs.items()]
    return [_types_link(typename), ", ".join(described) or tag("span", "none registered yet", class_="muted")]


async def metrics(console: Console, asked: Asked) -> Response:
    body, content_type = console.runtime.metrics.exposition(asked.header("accept"))
    return Response(200, body, content_type)
