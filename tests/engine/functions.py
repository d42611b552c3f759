"""The functions every adapter endpoint serves in the engine tests, and the Kafka I/O of their module.yaml.

Each (front, credential form) pair has its own namespace ``<front>-<form>`` holding one function,
``<namespace>/counter``: it counts its messages per id in state and writes
``<namespace>:<id>:<count>:<text>`` to Kafka topic ``out-<namespace>`` with the id as key. Its
messages come from Kafka topic ``in-<namespace>`` (record key: the id, value: UTF-8 text). A
front serves only its own namespaces, so a call that reaches the wrong endpoint answers 404.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import yaml

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec, kafka_egress_message

#: The credential forms each front is called with: ``query`` (``?token=``), ``path`` (``/t/<token>/``),
#: ``code`` (Azure's ``?code=`` function key alone), ``code-query`` (``?code=`` and ``?token=``).
FORMS: dict[str, tuple[str, ...]] = {
    "asgi": ("query", "path"),
    "wsgi": ("query", "path"),
    "gcp": ("query", "path"),
    "serve": ("query", "path"),
    "lambda": ("query", "path"),
    "azure": ("code", "code-query"),
}
FUNCTION = "counter"
TEXT_TYPENAME = "fronts/text"  # the ingress value type: the record's raw UTF-8 bytes
INGRESS_ID = "fronts/in"
EGRESS_ID = "fronts/out"


def namespace(front: str, form: str) -> str:
    return f"{front}-{form}"


def front_and_form(space: str) -> tuple[str, str]:
    """The front and credential form of a namespace: ``azure-code-query`` -> ``("azure", "code-query")``."""
    front, _, form = space.partition("-")
    return front, form


def namespaces(front: str | None = None) -> list[str]:
    """The namespaces of one front, or of every front."""
    fronts = FORMS if front is None else [front]
    return [namespace(name, form) for name in fronts for form in FORMS[name]]


def typename(space: str) -> str:
    return f"{space}/{FUNCTION}"


def in_topic(space: str) -> str:
    return f"in-{space}"


def out_topic(space: str) -> str:
    return f"out-{space}"


def record(space: str, key: str, count: int, text: str) -> str:
    """The egress value the counter writes for its ``count``-th message ``text`` at id ``key``."""
    return f"{space}:{key}:{count}:{text}"


def expected(space: str, key: str, texts: Iterable[str]) -> list[str]:
    """The egress values, in order, for ``texts`` sent in that order to id ``key``."""
    return [record(space, key, count, text) for count, text in enumerate(texts, start=1)]


def registry(*spaces: str) -> StatefulFunctions:
    """The functions an endpoint serves: one counter per namespace in ``spaces``."""
    functions = StatefulFunctions()
    for space in spaces:
        functions.register(typename(space), _counter(space), specs=[ValueSpec("count", IntType)])
    return functions


def _counter(space: str) -> Callable[[Context, Message], None]:
    def counter(context: Context, message: Message) -> None:
        count = (context.storage.count or 0) + 1
        context.storage.count = count
        text = (message.raw_value() or b"").decode("utf-8")
        value = record(space, context.address.id, count, text)
        context.send_egress(kafka_egress_message(EGRESS_ID, out_topic(space), value, key=context.address.id))

    return counter


def io_documents(broker: str, spaces: Iterable[str]) -> str:
    """The Kafka ingress and egress documents of a module.yaml, for ``spaces`` on ``broker`` (host:port)."""
    topics = [{"topic": in_topic(space), "valueType": TEXT_TYPENAME, "targets": [typename(space)]} for space in spaces]
    ingress = {
        "kind": "io.statefun.kafka.v1/ingress",
        "spec": {
            "id": INGRESS_ID,
            "address": broker,
            "consumerGroupId": "fronts",
            "startupPosition": {"type": "earliest"},
            "topics": topics,
        },
    }
    egress = {
        "kind": "io.statefun.kafka.v1/egress",
        "spec": {"id": EGRESS_ID, "address": broker, "deliverySemantic": {"type": "at-least-once"}},
    }
    return yaml.safe_dump_all([ingress, egress], sort_keys=False)
