"""A chatty library's repeated log lines are held back; the first, and one per interval saying how many
were held back, still get through."""

from __future__ import annotations

import logging

import pytest

from statefun_faas.runtime.repeats import RepeatFilter, quiet_repeats


def test_one_line_per_message_and_interval_then_the_count_held_back() -> None:
    now = [100.0]
    repeats = RepeatFilter(interval=30, clock=lambda: now[0])

    def passes(msg: str, *args: object, name: str = "lib") -> str | None:
        record = logging.LogRecord(name, logging.ERROR, __file__, 1, msg, args, None)
        return record.getMessage() if repeats.filter(record) else None

    assert passes("connect to %s failed", "a:1") == "connect to a:1 failed"
    assert passes("connect to %s failed", "b:2") is None  # the same message, other arguments
    assert passes("connect to %s failed", "a:1", name="lib.conn") == "connect to a:1 failed"  # another logger
    assert passes("metadata update failed") == "metadata update failed"  # another message
    now[0] += 29.9
    assert passes("connect to %s failed", "a:1") is None
    now[0] += 0.1
    assert passes("connect to %s failed", "c:3") == "connect to c:3 failed (2 more like it held back in the last 30 s)"
    now[0] += 31
    assert passes("connect to %s failed", "c:3") == "connect to c:3 failed"  # nothing held back since


def test_quiet_repeats_covers_the_package_and_its_modules_once(caplog: pytest.LogCaptureFixture) -> None:
    child = logging.getLogger("chatty_pkg.conn")
    quiet_repeats("chatty_pkg")
    quiet_repeats("chatty_pkg")
    assert [type(f) for f in child.filters] == [RepeatFilter]
    assert logging.getLogger("chatty_pkg").filters == child.filters  # one filter shared
    with caplog.at_level(logging.ERROR, "chatty_pkg"):
        for _ in range(50):
            child.error("reconnect to %s failed", "broker:9092")
    assert [r.getMessage() for r in caplog.records] == ["reconnect to broker:9092 failed"]
