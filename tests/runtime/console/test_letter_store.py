"""The store's actions on chosen dead letters (the console's replay and discard): by id, each once."""

from __future__ import annotations

from pathlib import Path

from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store
from tests.runtime.stores import close_opened_stores, opened  # noqa: F401 (an autouse fixture)

ALICE, BOB = Address("t/f", "alice"), Address("t/f", "bob")


def letters(tmp_path: Path) -> Store:
    """Four dead letters: ids 1 and 2 to alice, 3 and 4 to bob."""
    store = opened(Store(tmp_path / "state.sqlite3"))
    for address in (ALICE, BOB):
        store.enqueue([Envelope(address, Value("t/text", f"{address.id}{n}".encode())) for n in range(2)])
        store.dead_letter(address, store.inbox(address, 0), "poison")
    assert [letter.seq for letter in store.dead_letters()] == [1, 2, 3, 4]
    return store


def test_replay_by_id_moves_only_those_letters_and_each_once(tmp_path: Path) -> None:
    store = letters(tmp_path)
    assert store.replay([2, 3, 99]) == [ALICE, BOB]
    assert [q.argument.data for q in store.inbox(ALICE, 0)] == [b"alice1"]
    assert [q.argument.data for q in store.inbox(BOB, 0)] == [b"bob0"]
    assert [letter.seq for letter in store.dead_letters()] == [1, 4]
    assert store.replay([2, 3]) == []  # moved already: not there to move again
    assert store.pending == 2


def test_discard_deletes_those_letters_and_counts_them(tmp_path: Path) -> None:
    store = letters(tmp_path)
    assert store.discard([1, 4, 4, 99]) == 2
    assert [letter.seq for letter in store.dead_letters()] == [2, 3]
    assert store.discard([1]) == 0
    assert store.discard([]) == 0
    assert store.pending == 0  # nothing went to an inbox
