"""Repeated log lines of a chatty library, held back: aiokafka logs an error for every reconnect attempt
(dozens a second while a broker is down), which buries the runtime's own lines saying what happens."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

INTERVAL_S = 30.0


class RepeatFilter(logging.Filter):
    """Lets each message (per logger and format string, whatever its arguments) through once per
    ``interval`` seconds; the next one let through says how many like it were held back."""

    def __init__(self, interval: float = INTERVAL_S, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__()
        self.interval, self.clock = interval, clock
        self._seen: dict[tuple[str, str], tuple[float, int]] = {}  # -> (when let through, held back since)

    def filter(self, record: logging.LogRecord) -> bool:
        key, now = (record.name, str(record.msg)), self.clock()
        seen = self._seen.get(key)
        if seen is not None and now - seen[0] < self.interval:
            self._seen[key] = (seen[0], seen[1] + 1)
            return False
        self._seen[key] = (now, 0)
        if seen is not None and seen[1]:
            record.msg = f"{record.msg} ({seen[1]} more like it held back in the last {self.interval:g} s)"
        return True


def quiet_repeats(package: str, interval: float = INTERVAL_S) -> None:
    """Put one :class:`RepeatFilter` on ``package``'s logger and on each of its modules' loggers that exist
    (a filter on a logger does not cover its children); once, however often it is called."""
    names = [package, *(name for name in logging.root.manager.loggerDict if name.startswith(package + "."))]
    shared = RepeatFilter(interval)
    for name in names:
        logger = logging.getLogger(name)
        if not any(isinstance(existing, RepeatFilter) for existing in logger.filters):
            logger.addFilter(shared)
