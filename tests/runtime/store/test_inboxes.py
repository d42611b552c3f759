"""The in-memory mirror of the inboxes always answers what SQLite would, whatever happens to the store."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from statefun_faas.runtime.records import Address, DelayedEnvelope, Envelope, Value, Writes
from statefun_faas.runtime.store.database import DB_NAME, Store

ADDRESSES = [Address("t/f", str(i)) for i in range(3)]
Operation = tuple[str, int, int]
operations = st.lists(
    st.tuples(
        st.sampled_from(["ingress", "deliver", "dead-letter", "replay", "delayed", "outside", "resync"]),
        st.integers(0, len(ADDRESSES) - 1),
        st.integers(1, 4),
    ),
    max_size=40,
)


def envelope(address: Address, number: int) -> Envelope:
    return Envelope(address, Value("t/text", f"m{number}".encode()))


def apply(store: Store, outside: Store, operation: Operation, number: int) -> None:
    kind, which, count = operation
    address = ADDRESSES[which]
    if kind == "ingress":
        store.enqueue([envelope(address, number + i) for i in range(count)])
    elif kind == "deliver":  # a response that also sends a message to the next address
        batch = store.inbox(address, count)
        sent = [envelope(ADDRESSES[(which + 1) % len(ADDRESSES)], number)]
        store.apply(Writes(address, [q.seq for q in batch], [], sent, [], [], [], []))
    elif kind == "dead-letter":
        store.dead_letter(address, store.inbox(address, count), "test")
    elif kind == "replay":
        store.replay()
    elif kind == "delayed":
        delayed = DelayedEnvelope(0.0, address, "", envelope(address, number))
        store.apply(Writes(address, [], [], [], [delayed], [], [], []))
        store.fire_due(1.0)
    elif kind == "outside":  # another process's write; the runtime resyncs when it notices
        outside.enqueue([envelope(address, number)])
    else:
        store.resync_inboxes()


@settings(max_examples=60, deadline=None)
@given(operations, st.sampled_from([1, 3, 1000]))
def test_the_mirror_matches_sqlite(
    tmp_path_factory: pytest.TempPathFactory, steps: list[Operation], limit: int
) -> None:
    folder = tmp_path_factory.mktemp("inboxes")
    store, outside = Store.in_directory(folder), Store(folder / DB_NAME)  # outside: no lock, a writer anyway
    store.inboxes.limit = limit
    try:
        store.resync_inboxes()
        for number, operation in enumerate(steps):
            apply(store, outside, operation, number * 10)
            if operation[0] == "outside":
                store.resync_inboxes()
            for address in ADDRESSES:
                for size in (1, 2, 100):
                    assert store.inbox(address, size) == store._select_inbox(address, size)
            assert store.inboxes.size == sum(map(len, store.inboxes.queues.values())) <= limit
    finally:
        store.close()
        outside.close()


def test_rows_written_by_another_process_wait_for_a_resync(tmp_path: Path) -> None:
    store, outside = Store.in_directory(tmp_path), Store(tmp_path / DB_NAME)  # outside: no lock, a writer anyway
    address = ADDRESSES[0]
    store.resync_inboxes()
    outside.enqueue([envelope(address, 1)])
    assert store.inbox(address, 10) == []  # known empty: the router is woken by the resync, not by polling
    assert store.resync_inboxes() == [address]
    assert [q.argument.data for q in store.inbox(address, 10)] == [b"m1"]
    store.close()
    outside.close()


def test_fired_delayed_messages_and_replayed_letters_are_read_without_a_query(tmp_path: Path) -> None:
    store = Store.in_directory(tmp_path)
    address = ADDRESSES[0]
    store.resync_inboxes()
    store.apply(Writes(address, [], [], [], [DelayedEnvelope(0.0, address, "", envelope(address, 1))], [], [], []))
    statements: list[str] = []
    store.db.set_trace_callback(statements.append)
    assert store.fire_due(1.0) == [address]
    statements.clear()
    [fired] = store.inbox(address, 10)
    assert (fired.argument.data, fired.caller) == (b"m1", address)  # a delayed message comes from its sender
    store.dead_letter(address, [fired], "test")
    store.replay()
    statements.clear()
    assert [q.argument.data for q in store.inbox(address, 10)] == [b"m1"]
    assert statements == []  # both came from the mirror
    assert store.pending == 1
    store.close()
