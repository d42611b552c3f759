"""Background tasks outlive SQLite errors: with another connection holding the state file's write lock past
the busy timeout, the delayed-message timer and state expiry log what stopped them and start again, and a
stop afterwards is clean; so does the module watcher after any error. Real SQLite faults: a second connection
runs BEGIN IMMEDIATE on the file."""

from __future__ import annotations

import asyncio
import itertools
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import aiohttp
import pytest

from statefun_faas import Context, IntType, Message, StatefulFunctions, StringType, ValueSpec
from statefun_faas.moduleyaml.model import Module
from statefun_faas.runtime.app import Runtime
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store import expiry
from statefun_faas.runtime.store.database import DB_NAME
from statefun_faas.runtime.supervisor import supervise
from statefun_faas.runtime.watch import Watcher
from tests.runtime.apps import functions
from tests.runtime.io.test_kinesis import kinesis_client, moto, read_all  # noqa: F401 (moto: a fixture)
from tests.runtime.io.test_kinesis import module as kinesis_module
from tests.runtime.processes import RuntimeProcess
from tests.runtime.processes import put as process_put
from tests.runtime.processes import take as process_take
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, in_thread, put, running, take

#: the runtime's busy timeout in these tests (5 s by default): a lock held longer makes its writes fail
BUSY_TIMEOUT_MS = 200


@contextmanager
def write_lock_held(state_dir: Path) -> Iterator[None]:
    """Another connection to the state file holds SQLite's write lock while the block runs."""
    holder = sqlite3.connect(state_dir / DB_NAME, isolation_level=None, check_same_thread=False)
    try:
        holder.execute("BEGIN IMMEDIATE")
        yield
        holder.execute("ROLLBACK")
    finally:
        holder.close()


def hold_write_lock(state_dir: Path, seconds: float) -> threading.Event:
    """Hold the write lock from a thread for ``seconds``; the event is set once the lock is taken."""
    taken = threading.Event()

    def hold() -> None:
        with write_lock_held(state_dir):
            taken.set()
            threading.Event().wait(seconds)

    threading.Thread(target=hold, daemon=True).start()
    assert taken.wait(10)
    return taken


def wait_for_delayed(state_dir: Path, timeout: float = 10) -> None:
    reader = sqlite3.connect(state_dir / DB_NAME, isolation_level=None)
    try:
        deadline = time.monotonic() + timeout
        while not reader.execute("SELECT count(*) FROM delayed").fetchone()[0]:
            assert time.monotonic() < deadline, "the delayed message was never stored"
            time.sleep(0.02)
    finally:
        reader.close()


def short_busy_timeout(runtime: Runtime) -> None:
    runtime.store.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")


def test_the_delayed_message_timer_survives_a_held_write_lock(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, "statefun_faas.runtime")

    async def go() -> None:
        async with running(tmp_path, PLAYGROUND_IO, functions) as runtime, aiohttp.ClientSession() as s:
            short_busy_timeout(runtime)
            ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
            await put(s, ingress, "test/timer/k", json.dumps({"after": 1.5, "text": "late"}))
            await runtime.router.quiescent()
            assert runtime.store.count_delayed() == 1
            # the timer looks at least once a second: it meets the lock at least twice
            await asyncio.to_thread(hold_write_lock, tmp_path / "state", 2.5)
            await asyncio.sleep(2.6)
            assert await take(s, egress, "counts", 1, timeout=10) == ["k:1:late:test/timer/k"]

    asyncio.run(go())  # the stop at the end raises nothing
    assert "delayed-message timer stopped by an error, restarting in 0.1 s: OperationalError: database is locked" in (
        caplog.text
    )
    assert "Traceback" not in caplog.text  # an error of the environment: one line


def test_state_expiry_survives_a_held_write_lock(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    monkeypatch.setattr(expiry, "EXPIRE_EVERY_S", 0.02)  # a write every 20 ms

    async def go() -> None:
        async with running(tmp_path, PLAYGROUND_IO, functions) as runtime:
            short_busy_timeout(runtime)
            await asyncio.to_thread(hold_write_lock, tmp_path / "state", 1.0)
            await asyncio.sleep(1.5)

    asyncio.run(go())  # the stop at the end raises nothing
    assert "state expiry stopped by an error, restarting in 0.1 s: OperationalError: database is locked" in caplog.text
    assert "Traceback" not in caplog.text


def test_the_watcher_outlives_an_error_and_sees_what_changed_meanwhile(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """What the watcher has seen outlives a failed run: a module edit made while it was down is applied."""
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    module = tmp_path / "module.yaml"
    module.write_text(PLAYGROUND_IO)
    applied: list[Module] = []
    broken, failed = False, threading.Event()

    async def apply(loaded: Module) -> None:
        applied.append(loaded)

    def data_version() -> int:
        if broken:
            failed.set()
            raise sqlite3.OperationalError("database is locked")
        return 1

    async def go() -> None:
        nonlocal broken
        watcher = Watcher([str(module)], 0.01, apply, data_version, lambda: None)
        task = supervise("module and state watcher", watcher.run)
        try:
            broken = True
            await asyncio.to_thread(failed.wait, 10)
            module.write_text(PLAYGROUND_IO + "\n")  # while it is down
            stamp = module.stat().st_mtime_ns + 1_000_000
            os.utime(module, ns=(stamp, stamp))  # a new stamp however coarse the file system's clock
            broken = False
            for _ in range(300):
                if applied:
                    break
                await asyncio.sleep(0.01)
        finally:
            task.cancel()
        assert applied, "the module edit was never reloaded"

    asyncio.run(go())
    assert "module and state watcher stopped by an error, restarting in 0.1 s: OperationalError" in caplog.text


def test_an_address_whose_commit_failed_is_delivered_again(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    """20 keys with 2 acknowledged messages each; the first call takes the write lock for 1 s, so the commit
    of the answers fails; once it is released every message is applied, with no new message or restart."""
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    locking = StatefulFunctions()
    armed = threading.Event()
    state_dir = tmp_path / "state"

    @locking.bind("test/locking", specs=[ValueSpec("count", IntType)])
    def count(context: Context, message: Message) -> None:
        if armed.is_set():
            armed.clear()
            hold_write_lock(state_dir, 1.0)
        context.storage.count = (context.storage.count or 0) + 1

    async def go() -> None:
        async with running(tmp_path, PLAYGROUND_IO, locking) as runtime:
            short_busy_timeout(runtime)
            addresses = [Address("test/locking", f"k{i}") for i in range(20)]
            runtime.store.enqueue([Envelope(a, Value("test/text", b"x")) for a in addresses for _ in range(2)])
            armed.set()
            runtime.router.recover()
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            while runtime.store.inbox_size() and loop.time() < deadline:
                await asyncio.sleep(0.05)
            assert runtime.store.inbox_size() == 0, "messages stayed queued after the lock was released"
            assert {tuple(runtime.store.state(a, 0.0)) for a in addresses} == {("count",)}
            assert runtime.router.counters.messages == 40
            assert not runtime.store.dead_letters()

    asyncio.run(go())
    assert "delivery stopped by an internal error" in caplog.text


def test_a_run_process_outlives_a_lock_held_past_its_busy_timeout_and_stops_with_0(tmp_path: Path) -> None:
    """The real 5 s busy timeout, the `run` command: the delayed message fires and SIGTERM exits 0. Without
    the invocation history, whose writer would otherwise meet the lock first (once a second)."""
    with in_thread(FunctionServer(functions)) as server:
        module = tmp_path / "module.yaml"
        module.write_text(endpoint("test/*", f"http://127.0.0.1:{server.port}/statefun") + PLAYGROUND_IO)
        state = tmp_path / "state"
        args = ("run", "--module", str(module), "--state", str(state), "--history", "0")
        runtime = RuntimeProcess.start(tmp_path / "run.log", *args)
        try:
            ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
            assert process_put(ingress, "test/timer/k", json.dumps({"after": 2, "text": "late"}).encode())
            wait_for_delayed(state)  # the lock comes after the answer's commit, so the timer is what meets it
            hold_write_lock(state, 6.5)  # the timer meets it within a second and waits 5 s for it
            threading.Event().wait(6.6)
            assert process_take(egress, "counts", 1, timeout=15) == ["k:1:late:test/timer/k"]
        finally:
            code = runtime.stop()
    log = runtime.log.read_text()
    assert "delayed-message timer stopped by an error, restarting in 0.1 s: OperationalError: database is locked" in log
    assert code == 0, log
    assert "Traceback" not in log


def test_an_address_whose_commit_met_a_full_disk_is_delivered_again(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    """A full disk, as SQLite reports it (max_page_count caps the file): the answers' commit fails with
    'database or disk is full'; once there is room again every acknowledged message is applied once."""
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    big = StatefulFunctions()

    @big.bind("test/big", specs=[ValueSpec("blob", StringType)])
    def grow(context: Context, message: Message) -> None:
        context.storage.blob = (context.storage.blob or "") + "x" * 20_000

    async def go() -> None:
        async with running(tmp_path, PLAYGROUND_IO, big) as runtime:
            db = runtime.store.db
            addresses = [Address("test/big", f"k{i}") for i in range(20)]
            runtime.store.enqueue([Envelope(a, Value("test/text", b"x")) for a in addresses for _ in range(2)])
            pages = db.execute("PRAGMA page_count").fetchone()[0]
            db.execute(f"PRAGMA max_page_count={pages}")  # the disk is full
            runtime.router.recover()
            await asyncio.sleep(1.0)
            assert runtime.store.inbox_size() == 40  # nothing could be applied
            db.execute("PRAGMA max_page_count=1073741823")  # room again
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 15
            while runtime.store.inbox_size() and loop.time() < deadline:
                await asyncio.sleep(0.05)
            assert runtime.store.inbox_size() == 0, "messages stayed queued after there was room again"
            assert {len(runtime.store.state(a, 0.0)["blob"].data or b"") for a in addresses} == {40_000 + 4}
            assert runtime.router.counters.messages == 40

    asyncio.run(go())
    assert "sqlite3.OperationalError: database or disk is full" in caplog.text


def test_supervise_backs_off_logs_our_own_errors_with_their_traceback_and_cancels_cleanly(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.ERROR, "statefun_faas.runtime")
    runs: list[float] = []

    async def flaky() -> None:
        runs.append(asyncio.get_running_loop().time())
        if len(runs) <= 3:
            raise ValueError(f"bug {len(runs)}")
        await asyncio.Event().wait()  # runs until cancelled

    async def go() -> None:
        task = supervise("flaky loop", flaky)
        for _ in range(200):
            if len(runs) == 4:
                break
            await asyncio.sleep(0.02)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    asyncio.run(go())
    gaps = [later - earlier for earlier, later in itertools.pairwise(runs)]
    assert all(gap >= delay - 0.01 for gap, delay in zip(gaps, [0.1, 0.2, 0.4], strict=True))  # waited each time
    lines = [record.getMessage() for record in caplog.records]
    assert lines == [
        f"flaky loop stopped by an error, restarting in {d} s: ValueError: bug {i}"
        for i, d in ((1, 0.1), (2, 0.2), (3, 0.4))
    ]
    assert all(record.exc_info for record in caplog.records)  # not an error of the environment: a bug of ours


@pytest.mark.slow
def test_the_kinesis_ingress_outlives_a_held_write_lock(
    tmp_path: Path,
    moto: str,  # noqa: F811 (the fixture imported above)
    request: pytest.FixtureRequest,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """A record read while the lock is held can not be stored: the poller stops, is started again, reads
    on from its saved position and the record is delivered once the lock is released."""
    caplog.set_level(logging.INFO, "statefun_faas.runtime")
    client = kinesis_client(moto)
    request.addfinalizer(client.close)
    for stream in ("loud", "shouts"):
        client.create_stream(StreamName=stream, ShardCount=1)

    async def go() -> None:
        async with running(tmp_path, kinesis_module(moto), functions) as runtime:
            short_busy_timeout(runtime)
            await asyncio.to_thread(hold_write_lock, tmp_path / "state", 2.0)
            await asyncio.to_thread(client.put_record, StreamName="loud", Data=b"hello", PartitionKey="ann")
            assert await asyncio.to_thread(read_all, client, "shouts", 1, 20) == [("ann", b"ann:hello")]

    asyncio.run(go())
    assert "Kinesis ingress test/kin stopped by an error, restarting in 0.1 s: OperationalError" in caplog.text
