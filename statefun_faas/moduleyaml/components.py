"""Components: one per ``kind``/``spec`` document, or read from the legacy ``version: "3.0"`` file."""

from __future__ import annotations

from dataclasses import dataclass

from statefun_faas.moduleyaml.model import ENDPOINTS_V1, KAFKA_EGRESS, KAFKA_INGRESS, KINESIS_EGRESS, KINESIS_INGRESS
from statefun_faas.moduleyaml.yaml_lines import Located

LEGACY_KINDS = {
    "http": ENDPOINTS_V1,
    "io.statefun.kafka/ingress": KAFKA_INGRESS,
    "io.statefun.kafka/egress": KAFKA_EGRESS,
    "io.statefun.kinesis/ingress": KINESIS_INGRESS,
    "io.statefun.kinesis/egress": KINESIS_EGRESS,
}
_SECTIONS = (("endpoints", "endpoint", "kind"), ("ingresses", "ingress", "type"), ("egresses", "egress", "type"))
_MULTI_DOCUMENT_HINT = "write one document per component: kind: <kind> and spec:, separated by ---"


@dataclass(frozen=True)
class Component:
    """One component to bind: its kind, the node the kind was read from, its spec and where it starts.

    ``role`` is "endpoint", "ingress" or "egress" when the file's structure fixes it (legacy), else "".
    ``ident`` is the legacy ``meta.id``; multi-document specs carry their own ``id``.
    """

    kind: str
    kind_node: Located
    spec: Located
    source: str
    role: str = ""
    ident: Located | None = None


def is_legacy(documents: list[Located]) -> bool:
    return len(documents) == 1 and documents[0].is_mapping and "version" in documents[0].members()


def document_component(document: Located) -> Component:
    if not document.is_mapping:
        document.expected("a mapping with kind: and spec:", _MULTI_DOCUMENT_HINT)
    kind = document.require("kind", "start the document with kind: <kind>, e.g. kind: io.statefun.endpoints.v2/http")
    name = kind.text()
    spec = document.require("spec", f"add spec: with the fields of {name}")
    return Component(name, kind, spec, document.source)


def legacy_components(root: Located) -> list[Component]:
    """The components of a ``version: "3.0"`` file (one remote module with endpoints, ingresses, egresses)."""
    _check_version(root.require("version", 'write version: "3.0"'))
    module = root.require("module", "add module: with meta: and spec:")
    meta_type = module.require("meta", "add meta: {type: remote}").require("type", "add type: remote")
    if meta_type.text().lower() != "remote":
        meta_type.fail(f"module type {meta_type.text()!r} is not supported", "StateFun 3.x modules are type: remote")
    spec = module.require("spec", "add spec: with endpoints:, ingresses: and egresses:")
    components = []
    for section, role, kind_key in _SECTIONS:
        entries = spec.get(section)
        for item in entries.items() if entries is not None else ():
            components.append(_legacy_component(item, role, kind_key))
    return components


def _check_version(node: Located) -> None:
    version = node.raw()
    if version in ("1.0", "2.0"):
        node.fail(
            f'version "{version}" is end-of-life and StateFun 3.x does not read it',
            f"rewrite the file in the 3.x format: endpoints with kind: io.statefun.endpoints.v2/http "
            f"({_MULTI_DOCUMENT_HINT}); states are no longer declared in YAML",
        )
    if version != "3.0":
        fix = f'use version: "3.0", or drop version: and {_MULTI_DOCUMENT_HINT}'
        node.fail(f"unsupported version {version!r}", fix)


def _legacy_component(item: Located, role: str, kind_key: str) -> Component:
    body = item.require(role, f"write each entry as - {role}: with meta: and spec:")
    meta = body.require("meta", f"add meta: with {kind_key}:")
    kind = meta.require(kind_key, f"add {kind_key}: to meta")
    spec = body.require("spec", f"add spec: to the {role}")
    misplaced = meta.get("functions")
    if misplaced is not None and spec.get("functions") is None:
        misplaced.fail("belongs under the endpoint's spec", "move functions: from meta: to spec:")
    ident = meta.require("id", "add id: <namespace>/<name> to meta") if role != "endpoint" else None
    name = kind.text()
    return Component(LEGACY_KINDS.get(name, name), kind, spec, item.source, role, ident)
