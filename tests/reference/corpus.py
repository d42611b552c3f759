"""A seeded random generator of ToFunction requests for the conformance functions (functions.py).

Each request targets a random function and id, carries a random subset of its states (with a
value, registered without one, or missing, plus unknown extra states and now and then a value
of the wrong type), and a batch of invocations from random callers (or none), whose messages are
random scripts of commands or plain values. Inputs where statefun_faas deliberately differs
from the reference (see docs/migration.md) are never generated; test_differences.py covers them.
"""

from __future__ import annotations

import random
from typing import Any

from statefun_faas import _wire
from statefun_faas.types import to_typed_value
from tests.reference.commands import kind_of, random_command
from tests.reference.functions import SCRIPT, SPECS, TYPES, decode

Tagged = list[Any]

NAMES = ["a", "bob", "Zoë", "用户-7", "🙂", "x" * 40, "with space", "slash/inside"]
TYPENAMES = ["conformance/counter", "conformance/everything", "com.example/greeter", "ns.ü/fn", "io.x/y_z"]
STRINGS = ["", "a", "hello world", "héllo wörld", "日本語テキスト", "🙂👍", "a\x00b", "line\nbreak", "x" * 300]
FLOATS = ["0.0", "0.5", "-1.25", "1e-46", "1e38", "3.4e38", "-3.4e38", "inf", "-inf", "nan", "1e300", "1.1"]
DOUBLES = ["0.0", "5e-324", "1.7976931348623157e308", "-1e-300", "inf", "-inf", "nan", "0.1", "-2.5"]
INTS = [0, 1, -1, 2**31 - 1, -(2**31), 42, -1000]
LONGS = [0, 1, -1, 2**63 - 1, -(2**63), 2**40, 2**31]


class Corpus:
    """``Corpus(seed).requests(n)`` gives ``n`` distinct ToFunction requests as bytes."""

    def __init__(self, seed: int, max_batch: int = 30) -> None:
        self.rng = random.Random(seed)
        self.max_batch = max_batch

    def chance(self, probability: float) -> bool:
        return self.rng.random() < probability

    def tagged(self, kind: str) -> Tagged:
        """A random script value of ``kind``."""
        rng = self.rng
        values: dict[str, Any] = {
            "bool": lambda: rng.random() < 0.5,
            "int": lambda: rng.choice([*INTS, rng.randint(-(2**31), 2**31 - 1)]),
            "long": lambda: rng.choice([*LONGS, rng.randint(-(2**63), 2**63 - 1)]),
            "float": lambda: rng.choice([*FLOATS, repr(rng.uniform(-1e6, 1e6))]),
            "double": lambda: rng.choice([*DOUBLES, repr(rng.uniform(-1e12, 1e12))]),
            "string": lambda: rng.choice([*STRINGS, self.text()]),
            "json": lambda: None if rng.random() < 0.005 else self.json_value(),
            "timestamp": lambda: rng.choice([[0, 0], [1, 0], [-62135596800, 0], [rng.randint(0, 2**40), 999]]),
            "wrapped": lambda: rng.choice([*STRINGS, self.text()]),
            "bytes": lambda: rng.randbytes(rng.choice([0, 1, 5, 64])).hex(),
        }
        return [kind, values[kind]()]

    def text(self) -> str:
        alphabet = "abcXYZ019 _-/äßж中🙂"
        return "".join(self.rng.choice(alphabet) for _ in range(self.rng.randint(1, 12)))

    def json_value(self, depth: int = 0) -> Any:
        rng = self.rng
        kinds = ["null", "int", "float", "str", "bool", "list", "dict"]
        kind = rng.choice(kinds[: 5 if depth > 2 else 7] if depth else kinds[1:])
        if kind == "list":
            return [self.json_value(depth + 1) for _ in range(rng.randint(0, 3))]
        if kind == "dict":
            return {self.text(): self.json_value(depth + 1) for _ in range(rng.randint(0, 3))}
        simple = {"int": rng.randint(-(10**12), 10**12), "float": rng.uniform(-100, 100), "str": self.text()}
        return simple.get(kind, {"bool": True, "null": None}.get(kind))

    def typed_value(self, kind: str) -> _wire.TypedValue:
        return to_typed_value(TYPES[kind], decode(self.tagged(kind)))

    def address(self, target: _wire.Address, typename: str | None = None) -> None:
        namespace, name = (typename or self.rng.choice(TYPENAMES)).split("/")
        target.namespace, target.type, target.id = namespace, name, self.rng.choice([*NAMES, self.text()])

    def states(self, batch: Any, function: str) -> None:
        complete = self.chance(0.8)
        kinds = {spec.name: kind_of(spec.type.typename) for spec in SPECS[function]}
        names = list(kinds) + [self.text() + "_extra" for _ in range(self.rng.choice([0, 0, 1, 2]))]
        self.rng.shuffle(names)
        for name in names:
            roll = self.rng.random()
            if not complete and roll < 0.3:
                continue  # missing: the SDKs answer with an IncompleteInvocationContext
            state = batch.state.add(state_name=name)
            kind = kinds.get(name) or self.rng.choice(list(TYPES))
            if self.chance(0.03):
                kind = self.rng.choice(list(TYPES))  # a value of another type than declared
            if roll < 0.75:
                state.state_value.CopyFrom(self.typed_value(kind))
            elif roll < 0.8:
                state.state_value.CopyFrom(to_typed_value(TYPES[kind], None))  # has_value false

    def argument(self, function: str) -> _wire.TypedValue:
        if self.chance(0.7):
            script = [random_command(self, function) for _ in range(self.rng.randint(0, 6))]
            return to_typed_value(SCRIPT, script)
        if self.chance(0.1):
            return _wire.TypedValue(typename="conformance/unknown", has_value=self.chance(0.5), value=b"\x01\x02")
        kind = self.rng.choice(list(TYPES))
        if self.chance(0.1):
            return to_typed_value(TYPES[kind], None)
        return self.typed_value(kind)

    def request(self) -> bytes:
        rng = self.rng
        function = rng.choice([*SPECS, "conformance/everything", "conformance/counter"])
        to_function = _wire.ToFunction()
        batch = to_function.invocation
        self.address(batch.target, function)
        if self.chance(0.01):
            batch.target.id = ""
        self.states(batch, function)
        size = rng.choice([1, 1, 1, 2, 3, 5, rng.randint(1, self.max_batch)])
        for _ in range(size):
            invocation = batch.invocations.add()
            if self.chance(0.5):
                self.address(invocation.caller)
            elif self.chance(0.003):
                invocation.caller.id = "only-an-id"
            invocation.argument.CopyFrom(self.argument(function))
        return to_function.SerializeToString()

    def requests(self, count: int) -> list[bytes]:
        seen: dict[bytes, None] = {}
        while len(seen) < count:
            seen[self.request()] = None
        return list(seen)
