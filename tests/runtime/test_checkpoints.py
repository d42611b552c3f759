"""WAL checkpoints run on their own thread and connection; the runtime's connection never checkpoints."""

from __future__ import annotations

import time
from pathlib import Path

from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store import DB_NAME, Store


def test_the_wal_is_checkpointed_off_the_writing_connection(tmp_path: Path) -> None:
    store = Store.in_directory(tmp_path)
    store.checkpoint_in_background(interval=0.01)
    assert store.db.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    checkpointer = store._checkpointer
    assert checkpointer is not None
    size = (tmp_path / DB_NAME).stat().st_size
    for i in range(200):
        store.enqueue([Envelope(Address("t/f", str(i)), Value("t/text", b"x" * 1000))])
    deadline = time.monotonic() + 10
    while checkpointer.checkpoints < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert checkpointer.checkpoints >= 3
    assert (tmp_path / DB_NAME).stat().st_size > size + 200 * 1000  # the rows moved from the WAL into the file
    store.close()
    reopened = Store.in_directory(tmp_path)
    assert reopened.inbox_size() == 200
    reopened.close()
