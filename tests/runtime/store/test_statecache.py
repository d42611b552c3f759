"""The in-memory mirror of state always answers what SQLite would, and group commits keep every write."""

from __future__ import annotations

from contextlib import closing
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statefun_faas.runtime.records import Address, Envelope, Mutation, Value, Writes
from statefun_faas.runtime.store.database import Store

ADDRESSES = [Address("t/f", str(i)) for i in range(3)]
NAMES = ["a", "b"]
Step = tuple[str, int, int, int]
steps = st.lists(
    st.tuples(
        st.sampled_from(["modify", "delete", "touch", "expire", "tick"]),
        st.integers(0, len(ADDRESSES) - 1),
        st.integers(0, len(NAMES) - 1),
        st.integers(1, 3),
    ),
    max_size=40,
)


def writes(address: Address, now: float, mutations: list[Mutation], touched: list[tuple[str, float]]) -> Writes:
    return Writes(address, [], mutations, [], [], [], [], touched, now)


def fresh_view(folder: Path, now: float) -> dict[Address, dict[str, Value]]:
    """What SQLite holds, read by a store whose mirror is empty."""
    other = Store.read_only(folder)
    try:
        return {address: other.state(address, now) for address in ADDRESSES}
    finally:
        other.close()


@settings(max_examples=60, deadline=None)
@given(steps, st.sampled_from([1, 2, 1000]))
def test_the_state_mirror_matches_sqlite(
    tmp_path_factory: pytest.TempPathFactory, plan: list[Step], limit: int
) -> None:
    folder = tmp_path_factory.mktemp("states")
    store = Store.in_directory(folder)
    store.states.limit = limit
    now = 1000.0
    for number, (kind, which, name_index, seconds) in enumerate(plan):
        address, name = ADDRESSES[which], NAMES[name_index]
        store.state(address, now)  # the router reads before every response it applies
        if kind == "modify":
            data = f"v{number}".encode()
            store.apply(writes(address, now, [Mutation(name, data, "t/text", now + seconds)], []))
        elif kind == "delete":
            store.apply(writes(address, now, [Mutation(name, None, "t/text")], []))
        elif kind == "touch":  # AFTER_INVOKE: an unexpired value lives on, an expired one stays gone
            store.apply(writes(address, now, [], [(name, now + seconds)]))
        elif kind == "expire":
            store.expire(now)
        else:
            now += seconds
        assert {a: store.state(a, now) for a in ADDRESSES} == fresh_view(folder, now)
    store.close()


def test_one_group_commit_applies_every_response_and_numbers_messages_in_order(tmp_path: Path) -> None:
    store = Store.in_directory(tmp_path)
    store.resync_inboxes()
    first, second = Address("t/f", "1"), Address("t/f", "2")
    store.enqueue([Envelope(first, Value("t/text", b"in"))])
    head = store.inbox(first, 10)
    sent = [Envelope(second, Value("t/text", f"m{i}".encode()), first) for i in range(3)]
    store.commit(
        [Envelope(first, Value("t/text", b"later"))],
        [
            Writes(first, [head[0].seq], [Mutation("a", b"1", "t/text")], sent, [], [], [], []),
            Writes(second, [], [Mutation("a", b"2", "t/text"), Mutation("a", None, "t/text")], [], [], [], [], []),
        ],
    )
    assert [q.argument.data for q in store.inbox(second, 10)] == [b"m0", b"m1", b"m2"]
    assert [q.argument.data for q in store.inbox(first, 10)] == [b"later"]
    seqs = [q.seq for q in store.inbox(second, 10)] + [q.seq for q in store.inbox(first, 10)]
    assert seqs == sorted(seqs)
    assert len(set(seqs)) == 4
    assert fresh_view(tmp_path, 0.0)[first] == {"a": Value("t/text", b"1")}
    assert fresh_view(tmp_path, 0.0)[second] == {}  # the later DELETE of the same response wins
    with closing(Store.read_only(tmp_path)) as reopened:
        reopened.resync_inboxes()
        assert reopened.inbox(second, 10) == store.inbox(second, 10)
    store.close()


def test_the_mirror_holds_at_most_its_limit_of_addresses(tmp_path: Path) -> None:
    store = Store.in_directory(tmp_path)
    store.states.limit = 10
    for i in range(100):
        address = Address("t/f", str(i))
        store.state(address, 0.0)
        store.apply(writes(address, 0.0, [Mutation("a", b"x" * 100, "t/text")], []))
    assert len(store.states.rows) == 10
    assert store.count_state() == 100
    assert store.state(Address("t/f", "0"), 0.0) == {"a": Value("t/text", b"x" * 100)}  # read again from SQLite
    store.close()
