"""The logs of run and dev: ``--log-format json`` writes one JSON object per line with the address, function type
and reason of the lines about one address, ``--log-level`` the least level written; a poison message among 40
writes four lines, whichever way the functions run (the retries' start, the isolation, the dead letter, the
isolation's end), and its traceback once. A real runtime each time (in-process, or functions over HTTP on
loopback), and ``statefun-faas dev`` as a process."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest

from statefun_faas.cli import logs
from statefun_faas.runtime.store.database import Store
from tests.runtime.engine.test_poison import KEY, MODES, POISON, message, runtime_for
from tests.runtime.processes import free_port, put, wait_for_port

APPS = Path(__file__).resolve().parents[1] / "runtime" / "apps.py"
LOGGER = "statefun_faas.runtime"


@pytest.fixture
def written(caplog: pytest.LogCaptureFixture) -> Iterator[dict[str, io.StringIO]]:
    """What the runtime's logger writes through the CLI's handlers, by format, at INFO."""
    caplog.set_level(logging.INFO)
    streams = {name: io.StringIO() for name in logs.FORMATS}
    handlers = [logs.handler(name, stream) for name, stream in streams.items()]
    root = logging.getLogger()
    for handler in handlers:
        handler.addFilter(logging.Filter(LOGGER))
        root.addHandler(handler)
    yield streams
    for handler in handlers:
        root.removeHandler(handler)


def poison_among_40(mode: str, tmp_path: Path, written: dict[str, io.StringIO]) -> dict[str, list[str]]:
    """The lines each format wrote while a batch of 40 with one poison message was delivered."""
    bodies = [f"m{n}" for n in range(39)]
    bodies.insert(17, POISON)

    async def go() -> dict[str, list[str]]:
        async with runtime_for(mode, tmp_path) as runtime:
            for stream in written.values():  # what starting wrote
                stream.seek(0)
                stream.truncate()
            runtime.router.submit([message(body) for body in bodies])  # one commit: one batch of 40
            await runtime.router.quiescent()
            assert len(runtime.store.dead_letters()) == 1
            return {name: stream.getvalue().splitlines() for name, stream in written.items()}

    return asyncio.run(go())


@pytest.mark.parametrize("mode", MODES)
def test_a_poison_message_among_40_writes_four_json_lines_about_its_address(
    mode: str, tmp_path: Path, written: dict[str, io.StringIO]
) -> None:
    lines = [json.loads(line) for line in poison_among_40(mode, tmp_path, written)["json"]]
    assert [line["level"] for line in lines] == ["WARNING", "WARNING", "ERROR", "WARNING"]
    for line in lines:
        assert (line["address"], line["function_type"], line["logger"]) == (str(KEY), KEY.typename, LOGGER)
        assert line["message"].startswith(f"{KEY}: ")
        assert time.time() - 60 < datetime.fromisoformat(line["time"]).timestamp() <= time.time()
    retrying, isolating, dead, done = lines
    assert retrying["message"].endswith("; retrying 40 message(s), 3 attempts at most")
    assert isolating["message"].startswith(f"{KEY}: isolating the failing message(s) of a batch of 40: ")
    assert dead["message"].startswith(f"{KEY}: 1 message(s) to the dead letters: ")
    assert done["message"] == f"{KEY}: isolation done: 1 of 40 message(s) dead-lettered, the others applied"
    assert isolating["reason"] == dead["reason"]
    assert "(gave up after 3 attempts and " in dead["reason"]  # the retries' end, with their count
    assert ("exception" in retrying) == (mode == "dev")  # an in-process function's traceback, once
    assert not any("exception" in line for line in lines[1:])


def test_the_text_format_writes_the_traceback_once(tmp_path: Path, written: dict[str, io.StringIO]) -> None:
    text = poison_among_40("dev", tmp_path, written)["text"]
    said = [line for line in text if line.startswith(f"{logs.TEXT_FORMAT.split('%')[0]}{KEY}: ")]
    assert len(said) == 4
    assert sum(line == "Traceback (most recent call last):" for line in text) == 1
    assert text[-1] == said[-1]  # the traceback follows the first line, nothing after the last


def test_a_json_line_holds_its_traceback_and_any_extra_field() -> None:
    stream = io.StringIO()
    logger = logging.getLogger("tests.cli.test_logs")
    logger.addHandler(logs.handler("json", stream))
    logger.propagate = False
    try:
        try:
            raise ValueError("bad\nvalue")
        except ValueError:
            logger.error("failed: %s", "it", exc_info=True, extra={"address": "a/b/c", "attempts": 3})
    finally:
        logger.propagate = True
        logger.handlers.clear()
    [line] = stream.getvalue().splitlines()
    record: dict[str, Any] = json.loads(line)
    assert {key: record[key] for key in ("level", "logger", "message", "address", "attempts")} == {
        "level": "ERROR",
        "logger": "tests.cli.test_logs",
        "message": "failed: it",
        "address": "a/b/c",
        "attempts": 3,
    }
    assert record["exception"].startswith("Traceback (most recent call last):")
    assert record["exception"].endswith("ValueError: bad\nvalue")


@pytest.mark.slow
def test_dev_writes_json_lines_at_the_level_asked(tmp_path: Path) -> None:
    ingress = free_port()
    command = [sys.executable, "-m", "statefun_faas.cli", "dev", str(APPS), "--state", str(tmp_path / "state")]
    command += ["--ingress-port", str(ingress), "--egress-port", "0", "--log-format", "json", "--log-level", "warning"]
    log = tmp_path / "dev.log"
    with log.open("wb") as sink:
        process = subprocess.Popen(command, stderr=sink, stdout=subprocess.DEVNULL)
    try:
        wait_for_port(ingress)
        assert put(ingress, "test/failing/f", b"boom")
        deadline = time.monotonic() + 30
        while not _dead_letters(tmp_path / "state") and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        process.send_signal(signal.SIGINT)
        assert process.wait(20) == 0
    lines = [json.loads(line) for line in log.read_text().splitlines()]
    assert [line["level"] for line in lines] == ["WARNING", "ERROR"]  # no INFO: not at --log-level warning
    assert all(line["address"] == "test/failing/f" for line in lines)
    assert "RuntimeError: boom" in lines[0]["exception"]
    assert lines[1]["message"].startswith("test/failing/f: 1 message(s) to the dead letters: ")


def _dead_letters(state: Path) -> int:
    if not (state / "runtime.sqlite3").exists():
        return 0
    store = Store.read_only(state)
    try:
        return len(store.dead_letters())
    finally:
        store.close()
