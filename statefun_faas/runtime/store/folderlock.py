"""One owner per state folder: an OS lock on a file in the folder, held as long as the owner's store is open.

Two runtimes writing one SQLite store each keep an inbox mirror and a state cache of their own, so both
deliver the same messages: some are applied twice, some increments are lost. The lock is ``flock``:
the kernel drops it when its process ends, ``kill -9`` included, so a crash never leaves a stale lock;
it belongs to one open file description, so a second open in the same process conflicts too. The
owner writes its PID into the file, for the message the next one prints.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path
from typing import IO

LOCK_NAME = "runtime.lock"


class StateFolderBusyError(RuntimeError):
    """Another process (or another store of this one) owns the state folder."""

    def __init__(self, folder: Path, pid: int | None) -> None:
        self.folder, self.pid = folder, pid
        holder = "another process" if pid is None else f"the runtime with PID {pid}"
        super().__init__(
            f"state folder {folder} is in use by {holder}; stop that runtime, or give this one another "
            f"state folder (--state DIR)"
        )


class FolderLock:
    """Holds the lock of ``folder`` from construction to :meth:`release`; raises StateFolderBusyError."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder.resolve()
        self.path = self.folder / LOCK_NAME
        self._file: IO[str] | None = open(self.path, "a+", encoding="ascii")  # noqa: SIM115 (held until release)
        try:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.release()
            raise StateFolderBusyError(self.folder, self._holder()) from None
        self._file.seek(0)
        self._file.truncate()
        self._file.write(f"{os.getpid()}\n")
        self._file.flush()

    def release(self) -> None:
        """Give the folder up (closing the file drops the lock); a second call does nothing."""
        if self._file is not None:
            self._file.close()
            self._file = None

    def _holder(self) -> int | None:
        """The PID the owner wrote; it may have the lock and not have written yet, so wait for it a little."""
        for _ in range(25):
            try:
                text = self.path.read_text(encoding="ascii").strip()
            except OSError:
                return None
            if text.isdigit():
                return int(text)
            time.sleep(0.02)
        return None
