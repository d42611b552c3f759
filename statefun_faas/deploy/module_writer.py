"""Build module.yaml endpoint documents for a deployed function, and check them with statefun_faas.moduleyaml."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from typing import Any

import yaml

from statefun_faas.deploy import DeployError
from statefun_faas.deploy.urls import PLACEHOLDER, Credentials, url_template
from statefun_faas.moduleyaml.model import (
    ASYNC_TRANSPORT,
    DEFAULT_TIMEOUTS,
    ENDPOINTS_V1,
    ENDPOINTS_V2,
    Endpoint,
    Timeouts,
)
from statefun_faas.moduleyaml.reader import ModuleError, dump_endpoints, parse_module


@dataclass(frozen=True)
class EndpointSettings:
    """The endpoint properties that are not about the URL."""

    transport: str
    max_num_batch_requests: int = 1000
    call_timeout: float | None = None
    function_path: bool = True
    #: the com.sbbsystems.flink fork's per-endpoint ``failureMode`` (FAIL or DROP), written only when given
    failure_mode: str | None = None


def check_pattern(pattern: str) -> str:
    """A ``functions`` pattern: ``namespace/name`` or ``namespace/*``."""
    namespace, slash, name = pattern.partition("/")
    if not slash or not namespace or not name or "/" in name or "*" in namespace or ("*" in name and name != "*"):
        raise DeployError(f"function pattern {pattern!r} must be 'namespace/name' or 'namespace/*'")
    return pattern


def patterns_of(typenames: Iterable[str], per_function: bool) -> list[str]:
    """One ``namespace/*`` pattern per namespace, or the typenames themselves."""
    if per_function:
        return sorted(set(typenames))
    return sorted({typename.rpartition("/")[0] + "/*" for typename in typenames})


def build_endpoints(
    base_url: str, patterns: Sequence[str], credentials: Credentials, settings: EndpointSettings, allow_http: bool
) -> list[Endpoint]:
    """One endpoint per pattern, all served by the function at ``base_url``."""
    timeouts = _timeouts(settings)
    endpoints = []
    for pattern in patterns:
        name = pattern.partition("/")[2]
        part = (PLACEHOLDER if name == "*" else name) if settings.function_path else ""
        template = url_template(base_url, part, credentials, allow_http=allow_http)
        endpoints.append(
            Endpoint(
                pattern,
                template,
                settings.max_num_batch_requests,
                timeouts,
                settings.transport,
                ENDPOINTS_V2,
                failure_mode=settings.failure_mode,
            )
        )
    return endpoints


def _timeouts(settings: EndpointSettings) -> Timeouts:
    defaults = DEFAULT_TIMEOUTS[settings.transport]
    call = settings.call_timeout
    if call is None:
        return defaults
    if settings.transport == ASYNC_TRANSPORT:  # read and write follow the call budget
        return replace(defaults, call=call, read=call, write=call)
    # okhttp's steps may not exceed the call budget: StateFun refuses the endpoint otherwise
    steps = {name: min(getattr(defaults, name), call) for name in ("connect", "read", "write")}
    return replace(defaults, call=call, **steps)


def other_documents(text: str, filename: str) -> list[dict[str, Any]]:
    """The documents of an existing module.yaml that are not endpoints (ingresses, egresses)."""
    try:
        parse_module(text, filename)  # its mistakes named in it, not in the generated module.yaml
    except ModuleError as error:
        raise DeployError(f"the --base file does not load: {error}; fix it there") from None
    try:
        documents = [document for document in yaml.safe_load_all(text) if document is not None]
    except yaml.YAMLError as error:
        raise DeployError(f"{filename}: not YAML ({error})") from None
    if len(documents) == 1 and isinstance(documents[0], dict) and "version" in documents[0]:
        raise DeployError(
            f"{filename}: the legacy 'version: \"3.0\"' format can not be merged; use kind/spec documents"
        )
    kept = []
    for document in documents:
        if not isinstance(document, dict) or "kind" not in document:
            raise DeployError(f"{filename}: every document needs a 'kind' and a 'spec'")
        if document["kind"] not in (ENDPOINTS_V1, ENDPOINTS_V2):
            kept.append(document)
    return kept


def module_text(endpoints: Sequence[Endpoint], others: Sequence[dict[str, Any]]) -> str:
    """Endpoints first, then the other documents, as one YAML stream."""
    text = dump_endpoints(endpoints)
    if others:
        text += "---\n" + yaml.safe_dump_all(list(others), sort_keys=False, allow_unicode=True)
    return text


def verify(text: str, endpoints: Sequence[Endpoint], filename: str) -> None:
    """Parse ``text`` with the module.yaml parser and require exactly ``endpoints`` back."""
    try:
        module = parse_module(text, filename)
    except ModuleError as error:
        raise DeployError(f"the generated {filename} does not load: {error}") from None
    if tuple(module.endpoints) != tuple(endpoints):
        raise DeployError(f"the generated {filename} reads back differently: {module.endpoints!r}")


class _LiteralDumper(yaml.SafeDumper):
    pass


def _literal(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_LiteralDumper.add_representer(str, _literal)


def configmap(text: str, name: str) -> str:
    """A Kubernetes ConfigMap holding ``text`` as ``module.yaml`` (mounted by deploy/statefun/kubernetes)."""
    manifest = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {"name": name, "labels": {"app": "statefun"}},
        "data": {"module.yaml": text},
    }
    return yaml.dump(manifest, Dumper=_LiteralDumper, sort_keys=False, allow_unicode=True)
