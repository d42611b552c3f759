"""Named requests for the conformance functions, one per behaviour the issue asks to show.

The live test compares each with the reference SDK; tests/golden keeps their reference answers.
"""

from __future__ import annotations

from typing import Any

from statefun_faas import BoolType, IntType, StringType, _wire
from statefun_faas.types import to_typed_value
from tests.builders import Request
from tests.reference.functions import JSON, SCRIPT, SPECS, TIMESTAMP, TYPES, decode

EVERYTHING = "conformance/everything"
CALLER = "com.example/caller/c-1"

#: per kind: zero, negative, extreme and non-ASCII values, tagged as scripts write them
EXTREMES: dict[str, list[Any]] = {
    "bool": [False, True],
    "int": [0, -1, 2**31 - 1, -(2**31)],
    "long": [0, -1, 2**63 - 1, -(2**63)],
    "float": ["0.0", "-1.5", "3.4e38", "1e-45", "inf", "-inf", "nan"],
    "double": ["0.0", "-2.5", "1.7976931348623157e308", "5e-324", "inf", "nan"],
    "string": ["", "héllo wörld", "日本語", "🙂", "a\x00b"],
    "json": [{}, [], {"ключ": ["значение", 1, 2.5, None, True]}, "text", 0],
    "timestamp": [[0, 0], [-62135596800, 0], [253402300799, 999999999]],
    "wrapped": ["", "ünïcode"],
}


def script(*commands: list[Any]) -> _wire.TypedValue:
    return to_typed_value(SCRIPT, list(commands))


def tagged_value(kind: str, payload: Any) -> _wire.TypedValue:
    return to_typed_value(TYPES[kind], decode([kind, payload]))


def everything(states: dict[str, _wire.TypedValue | None] | None = None, function: str = EVERYTHING) -> Request:
    """A request to ``function`` with all its states registered (values from ``states``)."""
    request = Request(function, "id-1")
    for spec in SPECS[function]:
        request.state(spec.name, (states or {}).get(spec.name))
    return request


def _primitive_cases() -> dict[str, bytes]:
    state_of = {"bool": "b", "int": "i", "long": "l", "float": "f", "double": "d", "string": "s"}
    state_of |= {"json": "j", "timestamp": "t", "wrapped": "w"}
    cases = {}
    for kind, values in EXTREMES.items():
        name = state_of[kind]
        for index, payload in enumerate(values):
            stored = everything({name: tagged_value(kind, payload)})
            read_write = stored.message(script(["get", name], ["set", name, [kind, payload]], ["get", name]))
            cases[f"{kind}-{index}-state"] = read_write.bytes()
            plain = everything().message(tagged_value(kind, payload), caller=CALLER)
            cases[f"{kind}-{index}-message-echo"] = plain.bytes()
    return cases


def _missing_state_cases() -> dict[str, bytes]:
    return {
        "missing-all-states": Request(EVERYTHING, "m").message(script(["whoami"])).bytes(),
        "missing-after-call-and-write": Request(EVERYTHING, "m")
        .state("b")
        .state("f")
        .state("s")
        .state("t")
        .message(script())
        .bytes(),
        "missing-none-mode": Request("conformance/counter", "m").state("count").message(script()).bytes(),
        "present-but-no-value": everything().message(script(*[["get", s.name] for s in SPECS[EVERYTHING]])).bytes(),
    }


def _effect_cases() -> dict[str, bytes]:
    ingress = everything({"s": tagged_value("string", "x")})
    return {
        "delete": everything({"s": tagged_value("string", "x")}).message(script(["del", "s"], ["get", "s"])).bytes(),
        "send": ingress.message(script(["send", "conformance/counter", "n-1", "int_value", ["int", 7]])).bytes(),
        "send-after-without-token": everything()
        .message(script(["send_after", 1500, "conformance/counter", "n", "str_value", ["string", "later"], None]))
        .bytes(),
        "send-after-with-token": everything()
        .message(script(["send_after", 0.4, "ns.ü/fn", "n", "value", ["json", {"a": 1}], "token-1"]))
        .bytes(),
        "cancel": everything().message(script(["cancel", "token-1"])).bytes(),
        "kafka": everything()
        .message(
            script(
                ["kafka", "com.example/kafka-out", "topic", ["string", "v"], None, "key"],
                ["kafka", "com.example/kafka-out", "topic", ["bytes", "00ff"], None, None],
                ["kafka", "com.example/kafka-out", "topic", ["int", -7], None, ""],
                ["kafka", "com.example/kafka-out", "topic", ["double", "2.5"], None, None],
                ["kafka", "com.example/kafka-out", "topic", ["json", {"k": "v"}], "json", "k"],
            )
        )
        .bytes(),
        "kinesis": everything()
        .message(
            script(
                ["kinesis", "com.example/kinesis-out", "stream", ["string", "v"], "pk", None, None],
                ["kinesis", "com.example/kinesis-out", "stream", ["bytes", "0102"], "pk", None, "123"],
                ["kinesis", "com.example/kinesis-out", "stream", ["timestamp", [5, 6]], "pk", "timestamp", ""],
            )
        )
        .bytes(),
        "egress": everything().message(script(["egress", "conformance/observed", ["wrapped", "w"]])).bytes(),
        "caller-absent": everything().message(script(["whoami"], ["reply", "int_value", ["int", 1]])).bytes(),
        "caller-present": everything()
        .message(script(["whoami"], ["reply", "long_value", ["long", 1]]), caller=CALLER)
        .bytes(),
        "bools-into-int-and-long-states": everything()
        .message(script(["set", "i", ["bool", True]], ["set", "l", ["bool", False]], ["get", "i"]))
        .bytes(),
        "no-effects": everything().message(script()).message(script(), caller=CALLER).bytes(),
        "user-code-raises": everything().message(script(["fail", "on purpose"])).bytes(),
        "wrong-state-type-read": everything({"i": tagged_value("string", "x")}).message(script(["get", "i"])).bytes(),
        "async-function": everything(function="conformance/async")
        .message(script(["set", "s", ["string", "a"]], ["get", "s"]))
        .bytes(),
    }


def _raw_state(typename: str, value: bytes, has_value: bool = True) -> _wire.TypedValue:
    return _wire.TypedValue(typename=typename, has_value=has_value, value=value)


#: state bytes other SDKs or hand-written producers might send: non-canonical, broken, unknown fields
ODD_STATES: dict[str, tuple[str, _wire.TypedValue]] = {
    "int-as-varint": ("i", _raw_state(IntType.typename, b"\x08\x05")),
    "int-twice-last-wins": ("i", _raw_state(IntType.typename, b"\x0d\x01\x00\x00\x00\x0d\x02\x00\x00\x00")),
    "int-truncated": ("i", _raw_state(IntType.typename, b"\x0d\x01")),
    "int-with-unknown-field": ("i", _raw_state(IntType.typename, b"\x0d\x01\x00\x00\x00\x10\x01")),
    "string-invalid-utf8": ("s", _raw_state(StringType.typename, b"\x0a\x01\xff")),
    "bool-two": ("b", _raw_state(BoolType.typename, b"\x08\x02")),
    "json-broken": ("j", _raw_state(JSON.typename, b"{broken")),
    "timestamp-garbage": ("t", _raw_state(TIMESTAMP.typename, b"\xff\xff")),
    "bytes-without-has-value": ("i", _raw_state(IntType.typename, b"\x0d\x01\x00\x00\x00", has_value=False)),
    "other-typename-without-value": ("i", _raw_state("x/y", b"", has_value=False)),
}


def _odd_state_cases() -> dict[str, bytes]:
    return {
        f"state-{name}": everything({state: value}).message(script(["get", state])).bytes()
        for name, (state, value) in ODD_STATES.items()
    }


def batch(size: int) -> bytes:
    """A batch of ``size`` invocations threading one counter through the state."""
    request = everything(function="conformance/counter")
    for number in range(size):
        commands: list[list[Any]] = [["get", "count"], ["set", "count", ["long", number]]]
        if number % 7 == 0:
            commands.append(["reply", "int_value", ["int", number]])
        request.message(script(*commands), caller=CALLER if number % 2 else None)
    return request.bytes()


def all_cases() -> dict[str, bytes]:
    cases = {**_primitive_cases(), **_missing_state_cases(), **_effect_cases(), **_odd_state_cases()}
    return cases | {"batch-10": batch(10)}
