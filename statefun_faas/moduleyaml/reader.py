"""Read StateFun module.yaml files: multi-document ``kind``/``spec`` (3.1+) and the legacy ``version: "3.0"`` form.

Every problem is a :class:`ModuleError` naming the file, the line and the field at fault::

    module = load_module("module.yaml")
    endpoint = module.endpoint_for("com.example/greeter")
    url = endpoint.url_for("com.example/greeter")
"""

from __future__ import annotations

import difflib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import yaml

from statefun_faas.moduleyaml.components import Component, document_component, is_legacy, legacy_components
from statefun_faas.moduleyaml.durations import UNITS_HINT, duration_seconds, format_duration
from statefun_faas.moduleyaml.endpoints import SPEC_FIELDS as ENDPOINT_FIELDS
from statefun_faas.moduleyaml.endpoints import TIMEOUT_NAMES, TRANSPORT_FIELDS, bind_endpoint
from statefun_faas.moduleyaml.io_kinds import BINDERS, EGRESS_KINDS, INGRESS_KINDS
from statefun_faas.moduleyaml.io_kinds import SPEC_FIELDS as IO_FIELDS
from statefun_faas.moduleyaml.model import (
    ASYNC_TIMEOUTS,
    ASYNC_TRANSPORT,
    DEFAULT_MAX_NUM_BATCH_REQUESTS,
    DEFAULT_TIMEOUTS,
    ENDPOINTS_V1,
    ENDPOINTS_V2,
    FUNCTION_NAME_PLACEHOLDER,
    KAFKA_EGRESS,
    KAFKA_INGRESS,
    KINESIS_EGRESS,
    KINESIS_INGRESS,
    OKHTTP_TIMEOUTS,
    OKHTTP_TRANSPORT,
    PLAYGROUND_EGRESS,
    PLAYGROUND_EGRESS_ID,
    PLAYGROUND_EGRESS_PORT,
    PLAYGROUND_INGRESS,
    PLAYGROUND_INGRESS_ID,
    PLAYGROUND_INGRESS_PORT,
    Egress,
    Endpoint,
    Ingress,
    Module,
    Route,
    Timeouts,
)
from statefun_faas.moduleyaml.yaml_lines import MAX_BYTES, Located, ModuleError, read_documents, too_large

__all__ = [
    "KAFKA_EGRESS",
    "KAFKA_INGRESS",
    "KINESIS_EGRESS",
    "KINESIS_INGRESS",
    "PLAYGROUND_EGRESS",
    "PLAYGROUND_EGRESS_ID",
    "PLAYGROUND_EGRESS_PORT",
    "PLAYGROUND_INGRESS",
    "PLAYGROUND_INGRESS_ID",
    "PLAYGROUND_INGRESS_PORT",
    "DEFAULT_MAX_NUM_BATCH_REQUESTS",
    "FUNCTION_NAME_PLACEHOLDER",
    "ASYNC_TIMEOUTS",
    "ASYNC_TRANSPORT",
    "DEFAULT_TIMEOUTS",
    "ENDPOINTS_V1",
    "ENDPOINTS_V2",
    "OKHTTP_TIMEOUTS",
    "OKHTTP_TRANSPORT",
    "Egress",
    "Endpoint",
    "Ingress",
    "Module",
    "ModuleError",
    "Route",
    "Timeouts",
    "dump_endpoints",
    "load_module",
    "parse_duration",
    "parse_module",
]

logger = logging.getLogger("statefun_faas.runtime")

ENDPOINT_KINDS = (ENDPOINTS_V2, ENDPOINTS_V1)
KINDS = {**dict.fromkeys(ENDPOINT_KINDS, "endpoint"), **dict.fromkeys(INGRESS_KINDS, "ingress")}
KINDS.update(dict.fromkeys(EGRESS_KINDS, "egress"))
_SECTIONS = {"endpoint": "endpoints", "ingress": "ingresses", "egress": "egresses"}


def parse_module(text: str, filename: str = "<module.yaml>") -> Module:
    """Parse the text of one module file; ``filename`` only labels errors and sources."""
    return _module(_bind_file(text, filename), (filename,))


def load_module(*paths: str | os.PathLike[str]) -> Module:
    """Read and merge module files; a binding declared twice, in one file or across files, is an error.

    Each of the module's warnings (fields StateFun would ignore) is logged, at start and on every reload.
    """
    if not paths:
        raise ModuleError("", None, "", "no module file given", "pass at least one module.yaml path")
    names = [os.fspath(path) for path in paths]
    bound = [item for name in names for item in _bind_file(_read(name), name)]
    module = _module(bound, tuple(names))
    for warning in module.warnings:
        logger.warning("%s", warning)
    return module


def parse_duration(value: str | int | float, field: str) -> float:
    """Seconds in a Flink-style duration (``1 min``, ``10s``, ``500ms``; a bare number is milliseconds)."""
    try:
        return duration_seconds(value)
    except ValueError as error:
        raise ModuleError("", None, field, str(error), UNITS_HINT) from None


def dump_endpoints(endpoints: Sequence[Endpoint]) -> str:
    """module.yaml text with one ``io.statefun.endpoints.v2/http`` document per endpoint."""
    return yaml.safe_dump_all(
        [_endpoint_document(endpoint) for endpoint in endpoints], sort_keys=False, allow_unicode=True
    )


def _endpoint_document(endpoint: Endpoint) -> dict[str, Any]:
    timeouts = {name: format_duration(getattr(endpoint.timeouts, name)) for name in TIMEOUT_NAMES}
    if endpoint.transport == ASYNC_TRANSPORT:  # read and write follow call unless set apart
        for name in ("read", "write"):
            if getattr(endpoint.timeouts, name) == endpoint.timeouts.call:
                del timeouts[name]
    transport = {"type": endpoint.transport, "timeouts": timeouts, **endpoint.spec}
    spec = {
        "functions": endpoint.functions,
        "urlPathTemplate": endpoint.url_path_template,
        "maxNumBatchRequests": endpoint.max_num_batch_requests,
        "transport": transport,
    }
    if endpoint.failure_mode is not None:
        spec["failureMode"] = endpoint.failure_mode
    return {"kind": ENDPOINTS_V2, "spec": spec}


def _read(name: str) -> str:
    try:
        with Path(name).open("rb") as file:
            data = file.read(MAX_BYTES + 1)  # a bound before anything is held: the path may name a huge file
        if len(data) > MAX_BYTES:
            raise too_large(name)
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ModuleError(name, None, "", f"is not UTF-8 text (byte {error.start})", "save it as UTF-8") from None
    except OSError as error:
        problem = f"cannot be read: {error.strerror or error}"
        raise ModuleError(name, None, "", problem, "check the path and its permissions") from None


@dataclass(frozen=True)
class _Bound:
    """A bound component and the node of its binding key (functions or id), for duplicate errors."""

    value: Endpoint | Ingress | Egress
    key: Located
    warnings: tuple[str, ...] = ()


def _bind_file(text: str, file: str) -> list[_Bound]:
    documents = read_documents(text, file)
    if is_legacy(documents):
        components = legacy_components(documents[0])
    else:
        components = [document_component(document) for document in documents]
    return [_bind(component) for component in components]


def _bind(component: Component) -> _Bound:
    role = KINDS.get(component.kind)
    if role is None:
        _unknown_kind(component)
    if component.role and role != component.role:
        problem = f"{component.kind!r} is not an {component.role} kind"
        component.kind_node.fail(problem, f"move it under {_SECTIONS[role]}:")
    spec = component.spec
    spec.members()
    if role == "endpoint":
        endpoint = bind_endpoint(component.kind, spec, component.source)
        return _Bound(endpoint, spec.require("functions", ""), _endpoint_warnings(component.kind, spec, endpoint))
    value = BINDERS[component.kind](component.kind, spec, component.source, component.ident)
    warnings = _ignored(spec, IO_FIELDS[component.kind])
    return _Bound(value, component.ident or spec.get("id") or component.kind_node, warnings)


def _endpoint_warnings(kind: str, spec: Located, endpoint: Endpoint) -> tuple[str, ...]:
    warnings = _ignored(spec, ENDPOINT_FIELDS[kind])
    transport = spec.get("transport")
    if kind == ENDPOINTS_V2 and transport is not None:
        warnings += _ignored(transport, TRANSPORT_FIELDS[endpoint.transport])
    return warnings


def _ignored(node: Located, known: tuple[str, ...]) -> tuple[str, ...]:
    """A warning per field StateFun would ignore, usually a typo."""
    warnings = []
    for key, member in node.members().items():
        if key in known:
            continue
        close = difflib.get_close_matches(key, known, n=1)
        hint = f"did you mean {close[0]}?" if close else f"this kind reads {', '.join(known)}"
        if key in TIMEOUT_NAMES and "timeouts" in known:
            hint = "this transport reads timeouts only from its timeouts: block"
        warnings.append(f"{member.source}: {member.path}: unknown field, ignored; {hint}")
    return tuple(warnings)


def _unknown_kind(component: Component) -> NoReturn:
    close = difflib.get_close_matches(component.kind, list(KINDS), n=1)
    fix = f"did you mean {close[0]}?" if close else f"use one of {', '.join(KINDS)}"
    component.kind_node.fail(f"unknown kind {component.kind!r}", fix)


def _module(bound: list[_Bound], files: tuple[str, ...]) -> Module:
    seen: dict[tuple[str, str], _Bound] = {}
    for item in bound:
        binding = _binding(item.value)
        first = seen.setdefault(binding, item)
        if first is not item:
            item.key.fail(
                f"{binding[0]} {binding[1]!r} is already declared at {first.value.source}",
                "remove one of the two (each function pattern and each ingress/egress id is bound once)",
            )
    return Module(
        endpoints=tuple(item.value for item in bound if isinstance(item.value, Endpoint)),
        ingresses=tuple(item.value for item in bound if isinstance(item.value, Ingress)),
        egresses=tuple(item.value for item in bound if isinstance(item.value, Egress)),
        files=files,
        warnings=tuple(warning for item in bound for warning in item.warnings),
    )


def _binding(value: Endpoint | Ingress | Egress) -> tuple[str, str]:
    if isinstance(value, Endpoint):
        return "endpoint for functions", value.functions
    return ("ingress" if isinstance(value, Ingress) else "egress"), value.id
