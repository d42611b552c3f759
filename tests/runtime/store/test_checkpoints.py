"""WAL checkpoints run on their own thread and connection; the runtime's connection never checkpoints."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.checkpoints import Checkpointer
from statefun_faas.runtime.store.database import DB_NAME, Store


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


def test_the_checkpoint_thread_outlives_a_file_it_can_not_open(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A real SQLite error (the folder of the file is missing): logged, and the thread opens it again later."""
    caplog.set_level(logging.ERROR, "statefun_faas.runtime")
    folder = tmp_path / "not-yet"
    checkpointer = Checkpointer(str(folder / DB_NAME), interval=0.01)
    try:
        deadline = time.monotonic() + 10
        while "stopped by an error" not in caplog.text and time.monotonic() < deadline:
            time.sleep(0.01)
        store = Store.in_directory(folder)  # creates the folder and the file
        while checkpointer.checkpoints < 1 and time.monotonic() < deadline:
            time.sleep(0.01)
        assert checkpointer.checkpoints >= 1, "the thread never checkpointed once the file could be opened"
        store.close()
    finally:
        checkpointer.stop()
    assert "statefun-faas-checkpoints stopped by an error, restarting in 0.1 s: unable to open database file" in (
        caplog.text
    )
