"""The endpoint kinds: io.statefun.endpoints.v2/http and v1/http (also reached by legacy ``kind: http``)."""

from __future__ import annotations

import re
from dataclasses import fields, replace
from typing import Any
from urllib.parse import SplitResult, urlsplit

from statefun_faas.moduleyaml.durations import UNITS_HINT, duration_seconds
from statefun_faas.moduleyaml.model import (
    ASYNC_TRANSPORT,
    DEFAULT_MAX_NUM_BATCH_REQUESTS,
    DEFAULT_TIMEOUTS,
    DROP_MODE,
    ENDPOINTS_V1,
    ENDPOINTS_V2,
    FAIL_MODE,
    FUNCTION_NAME_PLACEHOLDER,
    OKHTTP_TRANSPORT,
    Endpoint,
    Timeouts,
)
from statefun_faas.moduleyaml.tls import TLS_FILES
from statefun_faas.moduleyaml.yaml_lines import Located
from statefun_faas.redact import redact_url

_ENDPOINT_KEYS = ("functions", "urlPathTemplate", "maxNumBatchRequests")
_TRANSPORTS = (ASYNC_TRANSPORT, OKHTTP_TRANSPORT)
#: the timeouts a transport's ``timeouts:`` block takes: call, connect, read and write
TIMEOUT_NAMES = tuple(field.name for field in fields(Timeouts))
_URL_SCHEMES = ("http", "https", "http+unix", "https+unix")
_BRACES = re.compile(r"\{[^{}]*\}")
_MARK = "{}"  # stands for {function.name} while the URL is split
#: The fields each endpoint kind and transport reads; StateFun ignores others, we warn about them.
SPEC_FIELDS = {
    ENDPOINTS_V1: (*_ENDPOINT_KEYS, "timeouts"),
    ENDPOINTS_V2: (*_ENDPOINT_KEYS, "transport", "failureMode"),
}
TRANSPORT_FIELDS = {
    OKHTTP_TRANSPORT: ("type", "timeouts"),
    ASYNC_TRANSPORT: ("type", "call", "connect", "timeouts", "pool_ttl", "pool_size", "payload_max_bytes", *TLS_FILES),
}


def bind_endpoint(kind: str, spec: Located, source: str) -> Endpoint:
    """One endpoint document's ``spec`` (for v1 the spec itself holds the OkHttp properties)."""
    functions = _functions(spec.require("functions", "name the functions served: <namespace>/<name> or <namespace>/*"))
    template = _url_template(spec.require("urlPathTemplate", "give the URL, e.g. http://host:8000/{function.name}"))
    batch = spec.get("maxNumBatchRequests")
    properties: Located | None = spec
    reserved: tuple[str, ...] = (*_ENDPOINT_KEYS, "timeouts")
    transport, failure_mode = OKHTTP_TRANSPORT, None
    if kind != ENDPOINTS_V1:  # v1: the whole spec holds the OkHttp properties
        transport, properties = _transport(spec.get("transport"))
        failure_mode = _failure_mode(spec.get("failureMode"))
        reserved = ("type", "timeouts") if transport == OKHTTP_TRANSPORT else ("type", "timeouts", "call", "connect")
    return Endpoint(
        functions=functions,
        url_path_template=template,
        max_num_batch_requests=DEFAULT_MAX_NUM_BATCH_REQUESTS if batch is None else batch.integer(),
        timeouts=_timeouts(transport, properties),
        transport=transport,
        kind=kind,
        source=source,
        spec=_other_properties(transport, properties, reserved),
        failure_mode=failure_mode,
    )


def _functions(node: Located) -> str:
    value = node.text()
    namespace, _, name = value.partition("/")
    if value.count("/") != 1 or not namespace or not name:
        node.fail(
            f"{value!r} is neither a function type nor a namespace pattern",
            "write <namespace>/<name> for one function type or <namespace>/* for every function of a namespace",
        )
    if "*" in namespace:
        node.fail(f"{value!r} has '*' in the namespace", "write the namespace in full; only the name can be '*'")
    if "*" in name and name != "*":
        node.fail(
            f"{value!r} uses '*' inside a name; a wildcard matches a whole namespace",
            f"write {namespace}/* or the full function type",
        )
    return value


def _failure_mode(node: Located | None) -> str | None:
    """The fork's ``failureMode`` in capitals: the fork reads it in any letter case."""
    if node is None:
        return None
    written = node.text()
    mode = written.upper()
    if mode not in (FAIL_MODE, DROP_MODE):
        node.fail(
            f"unknown failure mode {written!r}",
            f"write {FAIL_MODE} (a failing message is retried until it goes through) or {DROP_MODE} (it becomes "
            "a dead letter), or leave the key out",
        )
    return mode


def _url_template(node: Located) -> str:
    template = node.text()
    shown = redact_url(template)  # errors are printed and logged: the URL may carry a token
    for placeholder in _BRACES.findall(template):
        if placeholder != FUNCTION_NAME_PLACEHOLDER:
            node.fail(
                f"unknown placeholder {placeholder} in {shown!r}",
                f"the only placeholder is {FUNCTION_NAME_PLACEHOLDER} (the function's name); the namespace is fixed",
            )
    if {"{", "}"} & set(template.replace(FUNCTION_NAME_PLACEHOLDER, "")):
        node.fail(f"unbalanced brace in {shown!r}", f"write the placeholder exactly as {FUNCTION_NAME_PLACEHOLDER}")
    try:
        parts = urlsplit(template.replace(FUNCTION_NAME_PLACEHOLDER, _MARK))  # no other brace is left to clash
    except ValueError:  # an unclosed [ of an IPv6 address, a host that Unicode normalization changes
        node.fail("is not a valid URL", "write it as http://host:port/path/{function.name}, an IPv6 host in [ ]")
    if parts.scheme not in _URL_SCHEMES:
        node.fail(f"{shown!r} is not an http(s) URL", "write it as http://host:port/path/{function.name}")
    unix = parts.scheme.endswith("+unix")
    if unix and ".sock" not in parts.path:
        node.fail("names no socket file", "write it as http+unix:///path/to/file.sock/path/{function.name}")
    _placeholder_in_path(node, parts)
    if not unix:
        _host_and_port(node, parts)
    return template


def _placeholder_in_path(node: Located, parts: SplitResult) -> None:
    """A function's name may only fill the path: in the host or port, whoever sends a message picks the server."""
    where = {"host and port": parts.netloc, "query": parts.query, "fragment": parts.fragment}
    if parts.scheme.endswith("+unix"):  # http+unix:///path/to/file.sock/path, split as the HTTP client does
        where["socket file"] = parts.path.partition(".sock")[0]
    for name, part in where.items():
        if _MARK in part:
            node.fail(
                f"{FUNCTION_NAME_PLACEHOLDER} is in the URL's {name}: it may only stand in the path",
                "in the host or port a message's function name would choose the server the runtime calls; "
                f"write e.g. http://host:8000/fn/{FUNCTION_NAME_PLACEHOLDER}",
            )


def _host_and_port(node: Located, parts: SplitResult) -> None:
    if not parts.hostname:
        node.fail("has no host", "write it as http://host:port/path/{function.name}")
    _, colon, port = parts.netloc.rpartition("@")[2].rpartition("]")[2].rpartition(":")
    if not colon or not port:
        return  # the scheme's default port
    if not (port.isascii() and port.isdigit()):
        node.fail("has a port that is not a number", "write the port as digits (1 to 65535) or leave it out")
    if len(port) > 5 or not 1 <= int(port) <= 65535:
        node.fail("has a port out of range", "use a port from 1 to 65535, or leave it out for the default")


def _transport(node: Located | None) -> tuple[str, Located | None]:
    if node is None:
        return ASYNC_TRANSPORT, None
    node.members()
    kind = node.get("type")
    if kind is None:
        return ASYNC_TRANSPORT, node
    name = kind.text()
    if name not in _TRANSPORTS:
        kind.fail(f"unknown transport {name!r}", f"use {ASYNC_TRANSPORT} (the default) or {OKHTTP_TRANSPORT}")
    return name, node


def _timeouts(transport: str, properties: Located | None) -> Timeouts:
    timeouts = DEFAULT_TIMEOUTS[transport]
    if properties is None:
        return timeouts
    found: dict[str, float] = {}
    if transport == ASYNC_TRANSPORT:  # flat keys; the nested block wins
        found.update({name: _positive(node) for name in ("call", "connect") if (node := properties.get(name))})
    block = properties.get("timeouts")
    if block is not None:
        for name, node in block.members().items():
            if name not in TIMEOUT_NAMES:
                node.fail("is not a timeout", "use call, connect, read and write")
            if not node.is_null:
                found[name] = _positive(node)
    if transport == ASYNC_TRANSPORT and "call" in found:
        found = {"read": found["call"], "write": found["call"], **found}
    timeouts = replace(timeouts, **found)
    if transport == OKHTTP_TRANSPORT:
        _within_call(timeouts, properties if block is None else block)
    return timeouts


def _within_call(timeouts: Timeouts, node: Located) -> None:
    """StateFun's okhttp transport refuses a step timeout over the call budget, failing the job at every start."""
    for name in ("connect", "read", "write"):
        step = getattr(timeouts, name)
        if step > timeouts.call:
            node.fail(
                f"the okhttp {name} timeout ({step:g}s) is longer than the call timeout ({timeouts.call:g}s), "
                "which StateFun refuses at every start of the job",
                f"lower {name} (okhttp's connect, read and write default to 10s) or raise call",
            )


def _positive(node: Located) -> float:
    seconds = duration(node)
    if seconds <= 0:
        node.fail("a timeout of zero is not allowed", "give a positive duration, e.g. 10s")
    return seconds


def duration(node: Located) -> float:
    """A duration field in seconds, or a ModuleError at its line."""
    try:
        return duration_seconds(node.raw())
    except ValueError as error:
        node.fail(str(error), UNITS_HINT)


def _other_properties(transport: str, properties: Located | None, reserved: tuple[str, ...]) -> dict[str, Any]:
    if properties is None:
        return {}
    if transport == ASYNC_TRANSPORT:
        _check_pool(properties)
    return {key: node.plain() for key, node in properties.members().items() if key not in reserved}


def _check_pool(properties: Located) -> None:
    if (ttl := properties.get("pool_ttl")) is not None:
        duration(ttl)
    for name in ("pool_size", "payload_max_bytes"):
        if (node := properties.get(name)) is not None and node.integer() <= 0:
            node.fail("must be positive", "give a whole number above zero or remove the field for the default")
    for name in TLS_FILES:
        if (node := properties.get(name)) is not None:
            node.text()
