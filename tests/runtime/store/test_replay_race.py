"""Two replays of the same dead letters at once, each through its own connection to one SQLite file (as two
processes bypassing the state folder's lock would): every letter is queued exactly once."""

from __future__ import annotations

import threading
from pathlib import Path

from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store

ADDRESS = Address("t/f", "k")
LETTERS = [f"m{n}".encode() for n in range(20)]
TRIALS = 30


def replay_twice_at_once(path: Path) -> list[list[Address]]:
    """Both replays start together (a barrier), each with its own connection."""
    stores = [Store(path), Store(path)]
    start = threading.Barrier(len(stores))
    replayed: list[list[Address]] = []

    def replay(store: Store) -> None:
        start.wait()
        replayed.append(store.replay())

    threads = [threading.Thread(target=replay, args=(store,)) for store in stores]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    for store in stores:
        store.close()
    return replayed


def test_concurrent_replays_queue_each_letter_exactly_once(tmp_path: Path) -> None:
    wrong = []
    for trial in range(TRIALS):
        path = tmp_path / f"trial{trial}.sqlite3"
        setup = Store(path)
        setup.enqueue([Envelope(ADDRESS, Value("t/text", data)) for data in LETTERS])
        setup.dead_letter(ADDRESS, setup.inbox(ADDRESS, 0), "test")
        setup.close()
        replayed = replay_twice_at_once(path)
        assert len(replayed) == 2, "a replay raised (see the thread's traceback above)"
        check = Store(path)
        queued = sorted(q.argument.data or b"" for q in check.inbox(ADDRESS, 0))
        assert check.dead_letters() == []
        assert check.pending == len(queued)
        check.close()
        if queued != sorted(LETTERS):
            wrong.append((trial, len(queued)))
    assert wrong == [], f"(trial, messages queued) where the replays did not queue each of {len(LETTERS)} once: {wrong}"
