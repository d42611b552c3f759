"""The ingress and egress kinds: playground, Kafka and Kinesis, validated as the StateFun binders do."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from statefun_faas.moduleyaml.endpoints import duration
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
    Route,
)
from statefun_faas.moduleyaml.yaml_lines import Located

_KAFKA_STARTUP = ("group-offsets", "earliest", "latest", "specific-offsets", "date")
_KINESIS_STARTUP = ("earliest", "latest", "date")
_DATE_FORMAT = "%Y-%m-%d %H:%M:%S.%f %z"
_DATE_HINT = 'write it as "yyyy-MM-dd HH:mm:ss.SSS Z", e.g. "2020-02-01 04:15:00.000 +0000"'
_TYPENAME_HINT = "write a typename: <namespace>/<name> with exactly one '/'"


def bind_ingress(kind: str, spec: Located, source: str, ident: Located | None) -> Ingress:
    if kind == PLAYGROUND_INGRESS:
        port = _port(spec, PLAYGROUND_INGRESS_PORT)
        return Ingress(PLAYGROUND_INGRESS_ID, kind, source, port, (), spec.plain())
    ingress_id = typename(ident or spec.require("id", _TYPENAME_HINT))
    if kind == KAFKA_INGRESS:
        routes = _routes(spec.require("topics", "list the topics to read"), "topic")
        _kafka_consumer(spec)
    else:
        routes = _routes(spec.require("streams", "list the streams to read"), "stream")
        _startup_position(spec, _KINESIS_STARTUP)
        _aws(spec)
    return Ingress(ingress_id, kind, source, None, routes, {**spec.plain(), "id": ingress_id})


def bind_egress(kind: str, spec: Located, source: str, ident: Located | None) -> Egress:
    if kind == PLAYGROUND_EGRESS:
        port = _port(spec, PLAYGROUND_EGRESS_PORT)
        topics = _topics(spec.require("topics", "list the topics functions write to, e.g. [greetings]"))
        return Egress(PLAYGROUND_EGRESS_ID, kind, source, port, topics, spec.plain())
    egress_id = typename(ident or spec.require("id", _TYPENAME_HINT))
    if kind == KAFKA_EGRESS:
        _optional_text(spec, "address")
        _delivery_semantic(spec.get("deliverySemantic"))
        _single_key_maps(spec.get("properties"))
    else:
        _aws(spec)
        if (outstanding := spec.get("maxOutstandingRecords")) is not None and outstanding.integer() <= 0:
            outstanding.fail("must be positive", "give a whole number above zero (default 1000)")
    return Egress(egress_id, kind, source, None, (), {**spec.plain(), "id": egress_id})


INGRESS_KINDS = (PLAYGROUND_INGRESS, KAFKA_INGRESS, KINESIS_INGRESS)
_AWS = ("id", "awsRegion", "awsCredentials", "clientConfigProperties")
#: The spec fields each kind reads; StateFun ignores others, we warn about them.
SPEC_FIELDS = {
    PLAYGROUND_INGRESS: ("port",),
    PLAYGROUND_EGRESS: ("port", "topics"),
    KAFKA_INGRESS: (
        *("id", "address", "consumerGroupId", "topics"),
        *("autoOffsetResetPosition", "startupPosition", "properties"),
    ),
    KAFKA_EGRESS: ("id", "address", "deliverySemantic", "properties"),
    KINESIS_INGRESS: (*_AWS, "startupPosition", "streams"),
    KINESIS_EGRESS: (*_AWS, "maxOutstandingRecords"),
}
EGRESS_KINDS = (PLAYGROUND_EGRESS, KAFKA_EGRESS, KINESIS_EGRESS)


def typename(node: Located, what: str = "typename") -> str:
    """A ``namespace/name`` typename with exactly one '/' and no wildcard."""
    value = node.text()
    namespace, _, name = value.partition("/")
    if value.count("/") != 1 or not namespace.strip() or not name.strip() or "*" in value:
        node.fail(f"{value!r} is not a {what}", _TYPENAME_HINT)
    return value


def _port(spec: Located, default: int) -> int:
    node = spec.get("port")
    if node is None:
        return default
    port = node.integer()
    if not 0 <= port <= 65535:
        node.fail(f"{port} is not a TCP port", "use 0..65535 (0 picks a free port)")
    return port


def _topics(node: Located) -> tuple[str, ...]:
    return _unique(node, "topic", _topic)


def _topic(item: Located) -> str:
    topic = item.text()
    if "/" in topic:
        item.fail(f"topic {topic!r} contains '/'", "topics are read with GET /<topic>; name it without '/'")
    return topic


def _unique(node: Located, what: str, read: Callable[[Located], str] = Located.text) -> tuple[str, ...]:
    """The values of a non-empty list, each read with ``read`` and listed once."""
    seen: dict[str, int] = {}
    for item in node.items():
        _once(seen, item, what, read(item))
    if not seen:
        node.fail("is empty", f"list at least one {what}")
    return tuple(seen)


def _once(seen: dict[str, int], item: Located, what: str, value: str) -> None:
    if value in seen:
        item.fail(f"{what} {value!r} appears twice (first on line {seen[value]})", "remove one")
    seen[value] = item.line


def _routes(node: Located, key: str) -> tuple[Route, ...]:
    seen: dict[str, int] = {}
    routes = []
    for item in node.items():
        routes.append(_route(item, key))
        _once(seen, item, key, routes[-1].topic)
    if not routes:
        node.fail("is empty", f"list at least one {key}")
    return tuple(routes)


def _route(item: Located, key: str) -> Route:
    item.members()
    topic = item.require(key, f"name the {key} to read").text()
    value_type = typename(item.require("valueType", "give the typename of its values, e.g. com.example/User"))
    targets_node = item.require("targets", "list the function types that receive its records")
    targets = _unique(targets_node, "target", _function_type)
    return Route(topic, value_type, targets)


def _function_type(node: Located) -> str:
    return typename(node, "function type")


def _kafka_consumer(spec: Located) -> None:
    _optional_text(spec, "address")
    _optional_text(spec, "consumerGroupId")
    _choice(spec.get("autoOffsetResetPosition"), ("earliest", "latest"))
    position = _startup_position(spec, _KAFKA_STARTUP)
    if position is not None and position[0] == "specific-offsets":
        _offsets(position[1].require("offsets", 'list offsets as - "topic/partition": offset'))
    _single_key_maps(spec.get("properties"))


def _startup_position(spec: Located, allowed: tuple[str, ...]) -> tuple[str, Located] | None:
    node = spec.get("startupPosition")
    if node is None:
        return None
    chosen = _choice(node.require("type", f"choose one of {', '.join(allowed)}"), allowed)
    if chosen == "date":
        date = node.require("date", _DATE_HINT)
        try:
            datetime.strptime(date.raw(), _DATE_FORMAT)
        except ValueError:
            date.fail(f"{date.raw()!r} is not a date in the expected pattern", _DATE_HINT)
    return chosen, node


def _offsets(node: Located) -> None:
    for item in _single_key_maps(node):
        for key, value in item.members().items():
            topic, _, partition = key.rpartition("/")
            if not topic or not partition.isdigit():
                value.fail(f"{key!r} is not topic/partition", 'write "topic/partition": offset, e.g. "users/0": 91')
            value.integer()


def _delivery_semantic(node: Located | None) -> None:
    if node is None:
        return
    chosen = _choice(node.require("type", "choose exactly-once, at-least-once or none"), _SEMANTICS)
    legacy_millis = node.get("transactionTimeoutMillis")
    if legacy_millis is not None:
        legacy_millis.integer()
    timeout = node.get("transactionTimeout")
    if timeout is not None:
        duration(timeout)
    elif chosen == "exactly-once" and legacy_millis is None:
        node.fail("exactly-once needs a transaction timeout", "add transactionTimeout: 15min under deliverySemantic")


_SEMANTICS = ("exactly-once", "at-least-once", "none")


def _aws(spec: Located) -> None:
    _typed_object(spec.get("awsRegion"), _REGION_FIELDS)
    _typed_object(spec.get("awsCredentials"), _CREDENTIAL_FIELDS)
    _single_key_maps(spec.get("clientConfigProperties"))


_REGION_FIELDS = {"default": (), "specific": ("id",), "custom-endpoint": ("endpoint", "id")}
_CREDENTIAL_FIELDS = {"default": (), "basic": ("accessKeyId", "secretAccessKey"), "profile": ("profileName",)}


def _typed_object(node: Located | None, fields: dict[str, tuple[str, ...]]) -> None:
    if node is None:
        return
    chosen = _choice(node.require("type", f"choose one of {', '.join(fields)}"), tuple(fields))
    for name in fields[chosen]:
        node.require(name, f"type {chosen} needs {', '.join(fields[chosen])}").text()
    _optional_text(node, "profilePath")


def _choice(node: Located | None, allowed: tuple[str, ...]) -> str:
    if node is None:
        return ""
    value = node.text().lower()
    if value not in allowed:
        node.fail(f"unknown value {node.text()!r}", f"use one of {', '.join(allowed)}")
    return value


def _single_key_maps(node: Located | None) -> list[Located]:
    if node is None:
        return []
    items = list(node.items())
    for item in items:
        if len(item.members()) != 1:
            item.fail("must be a single `key: value` entry", "write one `- key: value` line per property")
    return items


def _optional_text(spec: Located, key: str) -> None:
    if (node := spec.get(key)) is not None:
        node.text()


BINDERS: dict[str, Callable[[str, Located, str, Located | None], Ingress | Egress]] = {
    **dict.fromkeys(INGRESS_KINDS, bind_ingress),
    **dict.fromkeys(EGRESS_KINDS, bind_egress),
}
