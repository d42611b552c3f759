"""WAL checkpoints on a thread of their own, so the event loop never waits for their fsync.

By default SQLite checkpoints inside whichever commit grows the write-ahead log past 1,000 pages: that
commit copies the pages into the database file and fsyncs both files, a stall of several milliseconds
(about 4 ms per fsync on a cloud VM disk) in the middle of the runtime's event loop. The runtime turns
that off on its own connection and checkpoints here instead, PASSIVE (never blocking a writer), on a
second connection; Python's sqlite3 lets go of the GIL while SQLite works. An error that ends the
connection (it can not be opened) is logged and the thread opens it again after a backoff.
"""

from __future__ import annotations

import logging
import sqlite3
import threading

from statefun_faas.runtime.supervisor import next_delay

logger = logging.getLogger("statefun_faas.runtime")

INTERVAL_S = 0.5
THREAD = "statefun-faas-checkpoints"


class Checkpointer:
    """Checkpoints the WAL of the database at ``path`` every ``interval`` seconds until :meth:`stop`."""

    def __init__(self, path: str, interval: float = INTERVAL_S) -> None:
        self.path, self.interval = path, interval
        self.checkpoints = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name=THREAD, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        delay: float | None = None
        while not self._stop.is_set():
            try:
                self._checkpoint_until_stopped()
            except sqlite3.Error as error:  # e.g. the file can not be opened (out of file descriptors)
                delay = next_delay(delay)
                logger.error("%s stopped by an error, restarting in %g s: %s", THREAD, delay, error)
                self._stop.wait(delay)

    def _checkpoint_until_stopped(self) -> None:
        db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            db.execute("PRAGMA busy_timeout=5000")
            while not self._stop.wait(self.interval):
                self._checkpoint(db)
            self._checkpoint(db)  # leave a short WAL behind
        finally:
            db.close()

    def _checkpoint(self, db: sqlite3.Connection) -> None:
        try:
            db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
            self.checkpoints += 1
        except sqlite3.Error as error:  # e.g. the disk is full: the WAL keeps the data, the next try may work
            logger.warning("WAL checkpoint failed: %s", error)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()
