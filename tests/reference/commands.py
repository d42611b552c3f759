"""Random script commands for the conformance functions (the verbs of functions.run_command)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from tests.reference.functions import PRIMITIVES, SPECS, TYPES

if TYPE_CHECKING:
    from tests.reference.corpus import Corpus

#: message_builder keyword of each primitive kind
KEYWORDS = {
    "bool": "bool_value",
    "int": "int_value",
    "long": "long_value",
    "float": "float_value",
    "double": "double_value",
    "string": "str_value",
}
EGRESSES = ["conformance/observed", "com.example/kafka-out", "io.ü/kinesis_out"]
DELAYS = [0, 1, 1.5, 0.4, 999.9, 1000, 86_400_000, 3.25e9]


def kind_of(typename: str) -> str:
    """The script kind of a value type's typename."""
    return next(kind for kind, value_type in TYPES.items() if value_type.typename == typename)


def random_command(corpus: Corpus, function: str) -> list[Any]:
    verb = corpus.rng.choices(list(_MAKERS), weights=[_WEIGHTS.get(v, 3) for v in _MAKERS])[0]
    if verb in ("get", "set", "del") and not SPECS[function] and not corpus.chance(0.05):
        verb = "whoami"  # a function without states: an undeclared name only now and then
    return _MAKERS[verb](corpus, function)


def _state(corpus: Corpus, function: str) -> tuple[str, str]:
    """A declared state name and its kind, now and then an undeclared name (both SDKs raise)."""
    specs = SPECS[function]
    if not specs or corpus.chance(0.02):
        return "undeclared", "string"
    spec = corpus.rng.choice(specs)
    return spec.name, kind_of(spec.type.typename)


def _message(corpus: Corpus) -> list[Any]:
    """``how`` and a tagged value for message_builder: a primitive keyword or value+value_type."""
    kind = corpus.rng.choice(list(TYPES))
    if kind in PRIMITIVES and corpus.chance(0.6):
        return [KEYWORDS[kind], corpus.tagged(kind)]
    return ["value", corpus.tagged(kind)]


def _get(corpus: Corpus, function: str) -> list[Any]:
    return ["get", _state(corpus, function)[0]]


def _set(corpus: Corpus, function: str) -> list[Any]:
    name, kind = _state(corpus, function)
    if corpus.chance(0.03):
        kind = corpus.rng.choice(list(TYPES))  # a value of another type: serializing may raise in both
    return ["set", name, corpus.tagged(kind)]


def _del(corpus: Corpus, function: str) -> list[Any]:
    return ["del", _state(corpus, function)[0]]


def _target(corpus: Corpus) -> list[str]:
    return [corpus.rng.choice(["conformance/counter", "com.example/greeter", "ns.ü/fn"]), corpus.text()]


def _send(corpus: Corpus, function: str) -> list[Any]:
    return ["send", *_target(corpus), *_message(corpus)]


def _send_after(corpus: Corpus, function: str) -> list[Any]:
    token = corpus.rng.choice([None, "", "t1", "token-2", "ключ", corpus.text()])
    return ["send_after", corpus.rng.choice(DELAYS), *_target(corpus), *_message(corpus), token]


def _cancel(corpus: Corpus, function: str) -> list[Any]:
    return ["cancel", corpus.rng.choice(["t1", "token-2", "ключ", corpus.text()])]


def _egress(corpus: Corpus, function: str) -> list[Any]:
    return ["egress", corpus.rng.choice(EGRESSES), corpus.tagged(corpus.rng.choice(list(TYPES)))]


def _raw(corpus: Corpus, kinds: list[str]) -> tuple[list[Any], str | None]:
    """A value for a Kafka/Kinesis record: untyped (str, bytes, ...) or with one of TYPES."""
    if corpus.chance(0.3):
        kind = corpus.rng.choice(list(TYPES))
        return corpus.tagged(kind), kind
    kind = corpus.rng.choice(kinds)
    return corpus.tagged(kind), None


def _kafka(corpus: Corpus, function: str) -> list[Any]:
    value, kind = _raw(corpus, ["string", "bytes", "int", "double"])
    key = corpus.rng.choice([None, "", "key-1", "ключ"])
    return ["kafka", corpus.rng.choice(EGRESSES), corpus.rng.choice(["topic", "t.ü"]), value, kind, key]


def _kinesis(corpus: Corpus, function: str) -> list[Any]:
    value, kind = _raw(corpus, ["string", "bytes"])
    hash_key = corpus.rng.choice([None, "", "12345"])
    stream = corpus.rng.choice(["stream", "s-ü"])
    return ["kinesis", corpus.rng.choice(EGRESSES), stream, value, corpus.text(), kind, hash_key]


def _reply(corpus: Corpus, function: str) -> list[Any]:
    return ["reply", *_message(corpus)]


def _fail(corpus: Corpus, function: str) -> list[Any]:
    return ["fail", "user code failed on purpose"]


_MAKERS = {
    "get": _get,
    "set": _set,
    "del": _del,
    "send": _send,
    "send_after": _send_after,
    "cancel": _cancel,
    "egress": _egress,
    "kafka": _kafka,
    "kinesis": _kinesis,
    "reply": _reply,
    "whoami": lambda corpus, function: ["whoami"],
    "inspect": lambda corpus, function: ["inspect"],
    "fail": _fail,
}
_WEIGHTS = {"get": 6, "set": 6, "fail": 0.05}
