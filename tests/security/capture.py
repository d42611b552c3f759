"""Everything a process prints: every logging record at every level (with tracebacks), and whatever
reaches file descriptors 1 and 2, as a log shipper would collect it."""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager


class Everything(logging.Handler):
    """Keeps every record, formatted with its traceback and stack, as a log shipper would."""

    def __init__(self) -> None:
        super().__init__(1)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@contextmanager
def all_logs() -> Iterator[Callable[[], str]]:
    """Every logging record at every level, plus whatever reaches file descriptors 1 and 2."""
    root, handler = logging.getLogger(), Everything()
    level = root.level
    root.addHandler(handler)
    root.setLevel(1)
    saved = [os.dup(1), os.dup(2)]
    with tempfile.TemporaryFile() as sink:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(sink.fileno(), 1)
        os.dup2(sink.fileno(), 2)
        try:
            yield lambda: "\n".join(handler.lines) + "\n" + _read(sink.fileno())
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            for fd, copy in zip((1, 2), saved, strict=True):
                os.dup2(copy, fd)
                os.close(copy)
            root.removeHandler(handler)
            root.setLevel(level)


def _read(fd: int) -> str:
    os.lseek(fd, 0, os.SEEK_SET)
    chunks = []
    while chunk := os.read(fd, 1 << 16):
        chunks.append(chunk)
    return b"".join(chunks).decode("utf-8", "replace")
