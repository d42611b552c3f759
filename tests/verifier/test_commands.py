"""The generator: deterministic per seed, expected totals that match the trees, cancellations after probes."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from statefun_faas.testing import invoke
from tests.verifier.commands import Generator, Params, Root, fill_bounds, totals
from tests.verifier.faulty import POISON_JSON
from tests.verifier.interpreter import FUNCTION, CommandsType, functions


def _interpret(commands: list[Any], at: int, counts: Counter[int], seen: list[str]) -> None:
    """What the interpreter function does to the counters, walked by hand."""
    for command in commands:
        kind = command[0]
        if kind == "i":
            counts[at] += 1
        elif kind == "s":
            _interpret(command[2], command[1], counts, seen)
        elif kind == "a":
            _interpret(command[3], command[1], counts, seen)
        elif kind == "e":
            seen.append(command[1])


def _roots(seed: int, count: int = 300, poison: float = 0.0) -> list[Root]:
    roots = Generator(Params(seed, ids=16, depth=4, poison=poison)).roots(count)
    fill_bounds(roots)
    return roots


def test_same_seed_same_roots_and_other_seed_other_roots() -> None:
    first, again, other = _roots(11), _roots(11), _roots(12)
    assert [(r.target, r.commands) for r in first] == [(r.target, r.commands) for r in again]
    assert [r.commands for r in first] != [r.commands for r in other]


def test_expected_increments_and_keys_match_the_trees() -> None:
    roots = _roots(5)
    for root in roots:
        counts: Counter[int] = Counter()
        seen: list[str] = []
        _interpret(root.commands, root.target, counts, seen)
        assert counts == root.increments
        assert seen == [root.marker, *root.keys]
    assert sum(totals(roots).values()) == sum(sum(r.increments.values()) for r in roots) > 300


def test_every_key_marker_and_token_is_unique() -> None:
    roots = _roots(7)
    keys = [key for root in roots for key in (root.marker, *root.keys)]
    assert len(keys) == len(set(keys))
    tokens = [token for root in roots for token in root.tokens]
    assert tokens
    assert len(tokens) == len(set(tokens))


def test_a_split_cancellation_follows_its_probe_at_the_same_address() -> None:
    roots = _roots(3)
    by_index = {root.index: root for root in roots}
    assert [root.index for root in roots] == list(range(len(roots)))
    cancels = [root for root in roots if root.after is not None]
    assert len(cancels) == sum(len(root.tokens) for root in roots)
    for cancel in cancels:
        probe_root = by_index[cancel.after or 0]
        assert cancel.index > probe_root.index
        assert cancel.target == probe_root.target
        assert cancel.commands[1][0] == "c"
        assert cancel.commands[1][1] in probe_root.tokens
        assert not cancel.increments


def test_verify_bounds_are_the_totals_over_all_roots() -> None:
    roots = _roots(9)
    bound = totals(roots)
    found = 0

    def check(commands: list[Any], at: int) -> None:
        nonlocal found
        for command in commands:
            if command[0] == "v":
                assert command[1] == bound[at]
                found += 1
            elif command[0] in ("s", "a"):
                check(command[-1], command[1])

    for root in roots:
        check(root.commands, root.target)
    assert found > 0


def test_poison_comes_between_two_valid_messages_to_one_id_and_leaves_the_trees_alone() -> None:
    plain = Generator(Params(4, ids=16)).roots(300)  # bounds not filled: poison raises some
    poisoned = Generator(Params(4, ids=16, poison=0.1)).roots(300)
    with_poison = [root for root in poisoned if root.poison]
    assert 10 < len(with_poison) < 60
    for before, after in zip(plain, poisoned, strict=True):
        assert after.commands[: len(before.commands)] == before.commands  # the same tree, poison appended
        if not after.poison:
            assert after.commands == before.commands
    for root in with_poison:
        [(name, target)] = root.poison.items()
        sent, poison, sent_after = root.commands[-3:]
        assert (sent[:2], poison[:3], sent_after[:2]) == (["s", target], ["p", target, name], ["s", target])
        counts: Counter[int] = Counter()
        _interpret(root.commands, root.target, counts, [])
        assert counts == root.increments  # the poison message's own increment is never expected


def test_only_the_poison_message_itself_looks_poison_to_the_function_server() -> None:
    root = next(root for root in _roots(4, poison=0.1) if root.poison)
    [name] = root.poison
    effects = invoke(functions, FUNCTION, str(root.target), [(root.commands, CommandsType)], state={"count": 0})
    arguments = [message.raw_value() or b"" for message in effects.sent]
    poisoned = [argument for argument in arguments if argument.startswith(POISON_JSON)]
    assert len(poisoned) == 1
    assert f'"{name}"'.encode() in poisoned[0]
    assert all(POISON_JSON not in argument for argument in arguments if argument is not poisoned[0])
    assert POISON_JSON not in json.dumps(root.commands).encode()  # the root's own request is valid
