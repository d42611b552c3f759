"""Random command trees with known expected totals, after StateFun's smoke-test generator.

A command is a short JSON list interpreted by :mod:`tests.verifier.interpreter`:

``["i"]`` increment the counter of the address interpreting it; ``["s", id, cmds]`` send ``cmds``
to id; ``["a", id, ms, cmds]`` send them after ``ms`` milliseconds; ``["t", token, ms]`` send a
probe to itself after ``ms`` with a cancellation token; ``["c", token]`` cancel it; ``["e", key]``
emit ``key`` to the egress; ``["v", bound]`` report the counter (which must never pass ``bound``);
``["n"]`` nothing. Every root starts with ``["e", "r<index>"]``, its marker: the marker reaches the
egress exactly when the root was applied, so a root whose acknowledgement was lost still counts
exactly once or not at all.

Poison: ``["p", id, name, cmds]`` sends id a message starting with ``["poison", name]``, which the
function server rejects every time (see :mod:`tests.verifier.faulty`): it must end as one dead
letter and never be applied (its ``cmds`` emit ``name``, so an applied one shows). A root with
poison sends it between two valid messages to the same id, committed together, so the three wait in
one inbox and are called as one batch: the valid two must still be applied exactly once. Which roots
send poison is drawn from a random stream of its own, so a seed gives the same trees with or without.
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

Command = list[Any]

#: Relative weights of the commands below the root, after StateFun's smoke-test defaults.
WEIGHTS = {"i": 0.4, "s": 0.9, "a": 0.1, "n": 0.2, "e": 0.1, "v": 0.05, "pair": 0.05}


@dataclass(frozen=True)
class Params:
    seed: int
    ids: int = 32
    depth: int = 4
    per_depth: int = 3
    max_delay_ms: int = 1500
    #: how many roots later a split cancellation of a root's probe is sent
    cancel_gap: int = 8
    #: share of the roots that send a poison message (0: none)
    poison: float = 0.0


@dataclass
class Root:
    """One ingress message to ``target`` and what applying it must do."""

    index: int
    target: int
    commands: list[Command]
    #: increments per id when this root and everything it sends are applied
    increments: Counter[int] = field(default_factory=Counter)
    keys: list[str] = field(default_factory=list)
    messages: int = 0  # invocations of commands this root causes, itself included (probes not counted)
    tokens: list[str] = field(default_factory=list)
    #: send only once this root was answered (or given up): a cancellation after its probe
    after: int | None = None
    #: the poison messages this root sends, name to target id: each a dead letter, never applied
    poison: dict[str, int] = field(default_factory=dict)

    @property
    def marker(self) -> str:
        return f"r{self.index}"


class Generator:
    """Deterministic for a seed: the same seed gives the same roots in the same order."""

    def __init__(self, params: Params) -> None:
        self.params = params
        self.rng = random.Random(params.seed)
        self._keys = 0
        self._tokens = 0
        self._kinds = list(WEIGHTS)
        self._weights = list(WEIGHTS.values())

    def roots(self, count: int) -> list[Root]:
        """``count`` roots, with the split cancellations placed ``cancel_gap``-ish roots after their probes."""
        planned: list[Root] = []
        pending: dict[int, list[Root]] = {}
        while len(planned) < count:
            index = len(planned)
            root = self._root(index)
            planned.append(root)
            for due in [due for due in pending if due <= index]:
                for cancel in pending.pop(due):
                    cancel.index = len(planned)
                    planned.append(cancel)
            for token in root.tokens:
                cancel = self._cancel(root, token)
                pending.setdefault(index + self.rng.randint(1, self.params.cancel_gap), []).append(cancel)
        for later in sorted(pending):
            for cancel in pending[later]:
                cancel.index = len(planned)
                planned.append(cancel)
        for root in planned:
            root.commands.insert(0, ["e", root.marker])
        self._poison(planned)
        return planned

    def _poison(self, roots: list[Root]) -> None:
        """Give ``params.poison`` of the roots a poison message between two valid ones to the same id."""
        rng = random.Random(self.params.seed ^ 0xB0150)
        for root in roots:
            if rng.random() < self.params.poison:
                target, name = rng.randrange(self.params.ids), f"p{root.index}"
                before, after = [["i"]] * rng.randint(1, 2), [["i"]] * rng.randint(1, 2)
                poison = ["p", target, name, [["e", name], ["i"]]]  # applied, it would show: a key, an increment
                root.commands += [["s", target, before], poison, ["s", target, after]]
                root.increments[target] += len(before) + len(after)
                root.messages += 2
                root.poison[name] = target

    def _root(self, index: int) -> Root:
        target = self.rng.randrange(self.params.ids)
        root = Root(index, target, [])
        root.commands = self._commands(root, target, self.rng.randrange(self.params.depth + 1))
        root.messages += 1
        if self.rng.random() < WEIGHTS["pair"] * 2:  # a probe cancelled by a later root
            token = self._token()
            root.commands.append(["t", token, self.rng.randint(50, self.params.max_delay_ms)])
            root.tokens.append(token)
        return root

    def _cancel(self, root: Root, token: str) -> Root:
        return Root(-1, root.target, [["c", token]], messages=1, after=root.index)

    def _commands(self, root: Root, at: int, depth: int) -> list[Command]:
        if depth <= 0:
            root.increments[at] += 1
            return [["i"]]
        commands: list[Command] = []
        for _ in range(self.rng.randint(1, self.params.per_depth)):
            commands.extend(self._command(root, at, depth))
        return commands

    def _command(self, root: Root, at: int, depth: int) -> list[Command]:
        kind = self.rng.choices(self._kinds, self._weights)[0]
        if kind == "i":
            root.increments[at] += 1
            return [["i"]]
        if kind in ("s", "a"):
            target = self.rng.randrange(self.params.ids)
            root.messages += 1
            sub = self._commands(root, target, depth - 1)
            if kind == "s":
                return [["s", target, sub]]
            return [["a", target, self.rng.randint(0, self.params.max_delay_ms), sub]]
        if kind == "e":
            self._keys += 1
            root.keys.append(f"k{self._keys}")
            return [["e", root.keys[-1]]]
        if kind == "v":
            return [["v", None]]  # the bound is filled in once every root is known
        if kind == "pair":  # a probe and its cancellation in one answer: never delivered
            token = self._token()
            return [["t", token, self.rng.randint(50, self.params.max_delay_ms)], ["c", token]]
        return [["n"]]

    def _token(self) -> str:
        self._tokens += 1
        return f"tok-{self.params.seed}-{self._tokens}"


def totals(roots: list[Root]) -> Counter[int]:
    """Expected counter of every id once all ``roots`` are applied."""
    found: Counter[int] = Counter()
    for root in roots:
        found.update(root.increments)
    return found


def fill_bounds(roots: list[Root]) -> None:
    """Give every verify command the most its id may ever reach: the total over all roots."""
    bound = totals(roots)

    def fill(commands: list[Command], at: int) -> None:
        for command in commands:
            if command[0] == "v":
                command[1] = bound[at]
            elif command[0] == "s":
                fill(command[2], command[1])
            elif command[0] == "a":
                fill(command[3], command[1])

    for root in roots:
        fill(root.commands, root.target)
