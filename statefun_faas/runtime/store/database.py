"""The durable store: SQLite in WAL mode holding state, inboxes, delayed messages, egress, dead letters.

Every method that changes something commits before it returns; :meth:`Store.apply` writes all
effects of one function response, and removes the inbox rows of its batch, in one transaction.
Committed inbox rows are mirrored in memory (:mod:`inboxes`), so reading a batch needs no query.
Inbox seqs only grow while a store is open, and start past those the invocation history names, so a seq
names one message (see :mod:`history`); :mod:`views` reads what the store holds, for people.
"""

from __future__ import annotations

import errno
import json
import os
import sqlite3
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from statefun_faas.runtime.records import (
    Address,
    DeadLetter,
    EgressRecord,
    Envelope,
    Queued,
    Spec,
    Value,
    Writes,
)
from statefun_faas.runtime.store.checkpoints import INTERVAL_S as CHECKPOINT_INTERVAL_S
from statefun_faas.runtime.store.checkpoints import Checkpointer
from statefun_faas.runtime.store.folderlock import LOCK_NAME, FolderLock
from statefun_faas.runtime.store.inboxes import InboxCache
from statefun_faas.runtime.store.schema import ADDED_COLUMNS, INBOX_INSERT, SCHEMA, caller, delayed_row, key, row
from statefun_faas.runtime.store.statecache import StateCache, StateRow

DB_NAME = "runtime.sqlite3"
#: SQLite's primary result codes (an extended code's low byte) of a damaged file, and of one it may not write
DAMAGED = frozenset({sqlite3.SQLITE_CORRUPT, sqlite3.SQLITE_NOTADB})
NOT_WRITABLE = frozenset({sqlite3.SQLITE_READONLY, sqlite3.SQLITE_CANTOPEN, sqlite3.SQLITE_PERM})


class StateFileError(Exception):
    """A state file this process can not use, told in one line for the operator: the file, why, what to do."""

    def __init__(self, path: Path, why: str) -> None:
        self.path = path
        super().__init__(f"the state file {path} can not be used: {why}")

    @classmethod
    def of(cls, path: Path, error: sqlite3.Error | OSError) -> StateFileError:
        """What SQLite or the OS said about ``path`` (or the files beside it), with what to do about it."""
        if isinstance(error, sqlite3.Error):
            code, said = error.sqlite_errorcode & 0xFF, str(error)
            refused = code in NOT_WRITABLE
        else:
            code, said = None, error.strerror or str(error)
            refused = isinstance(error, PermissionError) or error.errno == errno.EROFS
        if code in DAMAGED:
            return cls(path, f"it is damaged ({said}); move it away (the runtime then starts empty) or restore a copy")
        if refused:
            return cls(path, _not_writable(path, said))
        return cls(
            path,
            f"{said}; if it is damaged, move it away (the runtime then starts empty) or restore a copy; "
            "if it is read-only, make it and its folder writable",
        )


def _not_writable(path: Path, said: str) -> str:
    """Which of the state folder and its files this process may not write: SQLite writes the -wal and -shm
    files beside the state file, even to read it, and the folder's owner writes the lock file."""
    files = [path, *(path.with_name(path.name + end) for end in ("-wal", "-shm")), path.with_name(LOCK_NAME)]
    refused = [file.name for file in files if file.exists() and not os.access(file, os.W_OK)]
    if not os.access(path.parent, os.W_OK):
        refused.insert(0, "the state folder")
    what = ", ".join(refused) or "the state folder or its files"
    return (
        f"this user may not write {what} ({said}); make the state folder and its files writable for the user "
        "running statefun-faas, or give another --state folder"
    )


class Store:
    """One SQLite database; ``path`` ``":memory:"`` gives a throw-away store (the tester's). A state folder's
    store is opened by its one owner (:meth:`in_directory`) or read-only beside it (:meth:`read_only`)."""

    def __init__(self, path: str | Path, synchronous: str = "NORMAL", read_only: bool = False) -> None:
        if synchronous.upper() not in ("NORMAL", "FULL"):
            raise ValueError(f"synchronous must be NORMAL or FULL, got {synchronous!r}")
        self.path = str(path)
        self._lock: FolderLock | None = None
        if read_only:  # never writes, so it neither waits for the owner's write lock nor wakes its watcher
            self.db = sqlite3.connect(Path(path).resolve().as_uri() + "?mode=ro", uri=True, isolation_level=None)
        else:
            self.db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            if self.path != ":memory:":
                self.db.execute("PRAGMA journal_mode=WAL")
            self.db.execute(f"PRAGMA synchronous={synchronous.upper()}")
        self.db.execute("PRAGMA busy_timeout=5000")
        self.inboxes = InboxCache()
        self.states = StateCache()
        self._checkpointer: Checkpointer | None = None
        self.pending = 0  # messages in the inboxes, as far as this process knows (see resync_inboxes)
        #: the address and ids of the dead letters the last :meth:`dead_letter` wrote (for the history)
        self.last_dead_letters: tuple[Address, tuple[int, ...]] | None = None
        #: the first inbox seq of the messages each response of the last :meth:`commit` sent, by its address (the
        #: messages of one response got consecutive seqs, in its order; for the history)
        self.last_sent: dict[Address, int] = {}
        self._last_seq = 0  # the largest inbox seq given (or named by the history): the next one is larger
        if not read_only:
            with self.transaction() as db:
                for statement in SCHEMA.split(";"):
                    if statement.strip():
                        db.execute(statement)
                _add_columns(db)
                self._last_seq = db.execute("SELECT coalesce(max(last_seq), 0) FROM invocations").fetchone()[0]
        self.pending = self.inbox_size()

    @classmethod
    def in_directory(cls, directory: str | Path, synchronous: str = "NORMAL") -> Store:
        """The store of a state folder, for its one owner: holds the folder's lock (see :mod:`folderlock`)
        until :meth:`close`; raises StateFolderBusyError while another store owns it."""
        folder = Path(directory)
        path = folder / DB_NAME
        try:
            folder.mkdir(parents=True, exist_ok=True)
        except OSError as error:
            said = error.strerror or str(error)
            where = f" ({error.filename})" if error.filename and str(error.filename) != str(folder) else ""
            raise StateFileError(
                path, f"its folder can not be created: {said}{where}; give --state a folder this user may create"
            ) from error
        try:
            lock = FolderLock(folder)
        except OSError as error:  # not StateFolderBusyError: that one says who holds the folder
            raise StateFileError.of(path, error) from error
        try:
            if path.exists() and not os.access(path, os.W_OK):  # SQLite would open it read-only and fail later
                raise StateFileError(path, _not_writable(path, "read-only"))
            store = cls(path, synchronous)
        except BaseException:
            lock.release()
            raise
        store._lock = lock
        return store

    @classmethod
    def read_only(cls, directory: str | Path) -> Store:
        """The store of a state folder opened read-only, beside its owner if one runs (``state``,
        ``dead-letters``): no lock taken, no write possible."""
        return cls(Path(directory) / DB_NAME, read_only=True)

    def checkpoint_in_background(self, interval: float = CHECKPOINT_INTERVAL_S) -> None:
        """For the long-running runtime: WAL checkpoints leave this connection (see :mod:`checkpoints`)."""
        if self.path != ":memory:" and self._checkpointer is None:
            self.db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpointer = Checkpointer(self.path, interval)

    def close(self) -> None:
        if self._checkpointer is not None:
            self._checkpointer.stop()
            self._checkpointer = None
        self.db.close()
        if self._lock is not None:
            self._lock.release()

    @contextmanager
    def transaction(self, wait: bool = True) -> Iterator[sqlite3.Connection]:
        """A write transaction; ``wait`` False: raises ``sqlite3.OperationalError`` (SQLITE_BUSY) at once while
        another connection writes, rather than waiting up to the busy timeout with the event loop held."""
        if wait:
            self.db.execute("BEGIN IMMEDIATE")
        else:
            waited = self.db.execute("PRAGMA busy_timeout").fetchone()[0]
            self.db.execute("PRAGMA busy_timeout=0")
            try:
                self.db.execute("BEGIN IMMEDIATE")
            finally:
                self.db.execute(f"PRAGMA busy_timeout={int(waited)}")
        try:
            yield self.db
        except BaseException:
            self.db.execute("ROLLBACK")
            raise
        self.db.execute("COMMIT")

    def data_version(self) -> int:
        """Changes when another connection to the file commits."""
        row = self.db.execute("PRAGMA data_version").fetchone()
        return int(row[0])

    # -- inbox -------------------------------------------------------------------------------------

    def enqueue(self, envelopes: Sequence[Envelope]) -> None:
        """Store messages for their targets; committed when this returns."""
        self.commit(envelopes, ())

    def inbox(self, address: Address, limit: int) -> list[Queued]:
        """The oldest ``limit`` messages waiting for ``address`` (``limit`` <= 0: all)."""
        return self.inboxes.read(address, limit if limit > 0 else 1 << 62, lambda: self._select_inbox(address, limit))

    def _select_inbox(self, address: Address, limit: int) -> list[Queued]:
        rows = self.db.execute(
            "SELECT seq, caller_typename, caller_id, arg_typename, arg, arg_extra FROM inbox "
            "WHERE typename = ? AND id = ? ORDER BY seq LIMIT ?",
            (address.typename, address.id, limit if limit > 0 else -1),
        ).fetchall()
        return [Queued(seq, caller(ct, ci), Value(at, arg, extra or b"")) for seq, ct, ci, at, arg, extra in rows]

    def _insert(self, db: sqlite3.Connection, envelopes: Sequence[Envelope], into: list[tuple[Address, Queued]]) -> int:
        """Insert inbox rows in one statement. The transaction holds the write lock, so the seqs after the
        largest one are free (the ones SQLite would have given, one by one); past the largest this store gave,
        so a delivered message's seq is never given again while it runs. Returns the first seq given."""
        if not envelopes:
            return 0
        first: int = max(db.execute("SELECT coalesce(max(seq), 0) FROM inbox").fetchone()[0], self._last_seq) + 1
        self._last_seq = first + len(envelopes) - 1
        db.executemany(INBOX_INSERT, [(first + i, *row(envelope)) for i, envelope in enumerate(envelopes)])
        at = time.monotonic()
        into.extend(
            (envelope.target, Queued(first + i, envelope.caller, envelope.argument, at))
            for i, envelope in enumerate(envelopes)
        )
        return first

    def resync_inboxes(self) -> list[Address]:
        """The addresses with waiting messages, read afresh (after a restart or another process's write)."""
        waiting = self.waiting_addresses()
        self.inboxes.resync(waiting)
        self.pending = self.inbox_size()
        return waiting

    def waiting_addresses(self) -> list[Address]:
        rows = self.db.execute("SELECT DISTINCT typename, id FROM inbox").fetchall()
        return [Address(typename, id_) for typename, id_ in rows]

    def inbox_size(self, address: Address | None = None) -> int:
        """The messages waiting in every inbox, or in ``address``'s (counted, not read)."""
        if address is None:
            return int(self.db.execute("SELECT count(*) FROM inbox").fetchone()[0])
        query = "SELECT count(*) FROM inbox WHERE typename = ? AND id = ?"
        return int(self.db.execute(query, (address.typename, address.id)).fetchone()[0])

    # -- specs and state ---------------------------------------------------------------------------

    def specs(self, typename: str) -> dict[str, Spec]:
        rows = self.db.execute(
            "SELECT name, value_typename, expire_mode, expire_ms FROM specs WHERE typename = ? ORDER BY name",
            (typename,),
        ).fetchall()
        return {name: Spec(name, vt, mode, ms) for name, vt, mode, ms in rows}

    def register(self, typename: str, specs: Iterable[Spec]) -> None:
        with self.transaction() as db:
            db.executemany(
                "INSERT OR IGNORE INTO specs VALUES (?, ?, ?, ?, ?)",
                [(typename, s.name, s.typename, s.expire_mode, s.expire_ms) for s in specs],
            )

    def state(self, address: Address, now: float) -> dict[str, Value]:
        """The address's unexpired values by state name."""
        return self.states.read(address, now, lambda: self._select_state(address))

    def _select_state(self, address: Address) -> dict[str, StateRow]:
        rows = self.db.execute(
            "SELECT name, value_typename, value, expires_at FROM state WHERE typename = ? AND id = ?",
            (address.typename, address.id),
        ).fetchall()
        return {name: (typename, value, expires_at) for name, typename, value, expires_at in rows}

    def expire(self, now: float) -> int:
        with self.transaction() as db:
            return db.execute("DELETE FROM state WHERE expires_at <= ?", (now,)).rowcount

    def count_state(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM state").fetchone()[0])

    # -- applying a response -----------------------------------------------------------------------

    def apply(self, *responses: Writes) -> None:
        """Apply responses and drop their batches from the inboxes, all in one transaction."""
        self.commit((), responses)

    def commit(self, envelopes: Sequence[Envelope], responses: Sequence[Writes]) -> None:
        """Store ingress messages and apply responses in one transaction (a group commit); each response
        is still applied whole or not at all, as the transaction is."""
        added: list[tuple[Address, Queued]] = []
        with self.transaction() as db:
            if responses:
                self._apply(db, responses)
            first = self._insert(db, [m for effects in responses for m in effects.messages] + list(envelopes), added)
        if responses:
            self.last_sent = sent = {}
            for effects in responses:
                if effects.messages:
                    sent[effects.address] = first
                    first += len(effects.messages)
        for effects in responses:
            self.inboxes.removed(effects.address, effects.done)
            self.states.applied(effects)
            self.pending -= len(effects.done)
        self._added(added)

    def _added(self, added: list[tuple[Address, Queued]]) -> None:
        """Committed inbox rows: counted, and mirrored (see :mod:`inboxes`)."""
        self.pending += len(added)
        for target, queued in added:
            self.inboxes.added(target, [queued])

    @staticmethod
    def _apply(db: sqlite3.Connection, responses: Sequence[Writes]) -> None:
        """Each kind of write of all the responses in one statement; a group holds one response per
        address at most (one request in flight per address), so their rows never meet."""
        db.executemany("DELETE FROM inbox WHERE seq = ?", [(seq,) for e in responses for seq in e.done])
        cancelled = [(*key(e.address), token) for e in responses for token in e.cancelled]
        if cancelled:  # before this group's new delayed messages, which may reuse a cancelled token
            db.executemany("DELETE FROM delayed WHERE sender_typename = ? AND sender_id = ? AND token = ?", cancelled)
        delayed = [delayed_row(d) for e in responses for d in e.delayed]
        if delayed:
            db.executemany(
                "INSERT INTO delayed (fire_at, sender_typename, sender_id, token, typename, id, arg_typename, arg, "
                "arg_extra) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                delayed,
            )
        egress = [(r.egress_id, r.topic, r.typename, r.payload) for e in responses for r in e.egress]
        if egress:
            db.executemany("INSERT INTO egress (egress_id, topic, typename, payload) VALUES (?, ?, ?, ?)", egress)
        writes = {(*key(e.address), m.name): m for e in responses for m in e.mutations}  # the last one wins
        db.executemany(
            "DELETE FROM state WHERE typename = ? AND id = ? AND name = ?",
            [k for k, m in writes.items() if m.data is None],
        )
        db.executemany(
            "INSERT OR REPLACE INTO state VALUES (?, ?, ?, ?, ?, ?)",
            [(*k, m.typename, m.data, m.expires_at) for k, m in writes.items() if m.data is not None],
        )
        touched = [(at, *key(e.address), name, e.now) for e in responses for name, at in e.touched]
        if touched:
            db.executemany(
                "UPDATE state SET expires_at = ? WHERE typename = ? AND id = ? AND name = ? AND expires_at > ?", touched
            )

    # -- delayed messages --------------------------------------------------------------------------

    def token_pending(self, sender: Address, token: str) -> bool:
        row = self.db.execute(
            "SELECT 1 FROM delayed WHERE sender_typename = ? AND sender_id = ? AND token = ? LIMIT 1",
            (sender.typename, sender.id, token),
        ).fetchone()
        return row is not None

    def next_fire_at(self) -> float | None:
        row = self.db.execute("SELECT min(fire_at) FROM delayed").fetchone()
        return None if row[0] is None else float(row[0])

    def fire_due(self, now: float) -> list[Address]:
        """Move the delayed messages due at ``now`` into their targets' inboxes; returns their targets."""
        added: list[tuple[Address, Queued]] = []
        with self.transaction() as db:
            rows = db.execute(
                "SELECT seq, sender_typename, sender_id, typename, id, arg_typename, arg, arg_extra FROM delayed "
                "WHERE fire_at <= ? ORDER BY fire_at, seq",
                (now,),
            ).fetchall()
            fired = [
                Envelope(Address(t, i), Value(at, arg, extra or b""), Address(st, si))
                for _, st, si, t, i, at, arg, extra in rows
            ]
            self._insert(db, fired, added)
            db.executemany("DELETE FROM delayed WHERE seq = ?", [(row[0],) for row in rows])
        self._added(added)
        return [envelope.target for envelope in fired]

    def count_delayed(self) -> int:
        return int(self.db.execute("SELECT count(*) FROM delayed").fetchone()[0])

    # -- egress --------------------------------------------------------------------------------------

    def pop_egress(self, egress_id: str, topic: str) -> EgressRecord | None:
        with self.transaction() as db:
            row = db.execute(
                "SELECT seq, typename, payload FROM egress WHERE egress_id = ? AND topic = ? ORDER BY seq LIMIT 1",
                (egress_id, topic),
            ).fetchone()
            if row is None:
                return None
            db.execute("DELETE FROM egress WHERE seq = ?", (row[0],))
        return EgressRecord(egress_id, topic, row[1], row[2])

    def peek_egress(self, egress_id: str, limit: int) -> list[tuple[int, EgressRecord]]:
        """The oldest records of an egress with their seqs, left in place (for forwarders that delete them
        once delivered)."""
        rows = self.db.execute(
            "SELECT seq, topic, typename, payload FROM egress WHERE egress_id = ? ORDER BY seq LIMIT ?",
            (egress_id, limit),
        ).fetchall()
        return [(seq, EgressRecord(egress_id, topic, typename, payload)) for seq, topic, typename, payload in rows]

    def delete_egress(self, seqs: Iterable[int]) -> None:
        with self.transaction() as db:
            db.executemany("DELETE FROM egress WHERE seq = ?", [(seq,) for seq in seqs])

    def offset(self, source: str) -> str | None:
        """Where an external ingress (e.g. one Kinesis shard) was read up to."""
        row = self.db.execute("SELECT position FROM offsets WHERE source = ?", (source,)).fetchone()
        return None if row is None else str(row[0])

    def save_offset(self, source: str, position: str) -> None:
        with self.transaction() as db:
            db.execute("INSERT OR REPLACE INTO offsets VALUES (?, ?)", (source, position))

    def egress_records(self, egress_id: str | None = None) -> list[EgressRecord]:
        """The stored records, oldest first, without removing them."""
        rows = self.db.execute(
            "SELECT egress_id, topic, typename, payload FROM egress WHERE ? IS NULL OR egress_id = ? ORDER BY seq",
            (egress_id, egress_id),
        ).fetchall()
        return [EgressRecord(*row) for row in rows]

    # -- dead letters --------------------------------------------------------------------------------

    def dead_letter(self, address: Address, batch: Iterable[Queued], reason: str, now: float | None = None) -> None:
        """Move a batch from the inbox to the dead letters, one row per message, in one transaction."""
        at = time.time() if now is None else now
        batch = list(batch)
        with self.transaction() as db:
            db.executemany("DELETE FROM inbox WHERE seq = ?", [(queued.seq,) for queued in batch])
            first = db.execute("SELECT coalesce(max(seq), 0) + 1 FROM dead_letters").fetchone()[0]
            db.executemany(
                "INSERT INTO dead_letters (seq, typename, id, caller_typename, caller_id, arg_typename, arg, "
                "arg_extra, reason, at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(first + i, *row(Envelope(address, q.argument, q.caller)), reason, at) for i, q in enumerate(batch)],
            )
        self.inboxes.removed(address, [queued.seq for queued in batch])
        self.pending -= len(batch)
        self.last_dead_letters = (address, tuple(range(first, first + len(batch))))

    def dead_letters(self, after: int = 0, limit: int = -1, address: Address | None = None) -> list[DeadLetter]:
        """The dead letters by id, those after id ``after``, at most ``limit`` (< 0: all), of ``address`` only
        when given."""
        if address is None:
            rows = self.db.execute("SELECT * FROM dead_letters WHERE seq > ? ORDER BY seq LIMIT ?", (after, limit))
        else:
            rows = self.db.execute(
                "SELECT * FROM dead_letters WHERE typename = ? AND id = ? AND seq > ? ORDER BY seq LIMIT ?",
                (*key(address), after, limit),
            )
        return _letters(rows)

    def replay(self, seqs: Iterable[int] | None = None) -> list[Address]:
        """Move dead letters (all when ``seqs`` is None) back into the inboxes; returns their targets. The
        letters are read inside the write transaction, so a letter another replay moved first is not there
        to move again: each letter reaches its inbox exactly once, whatever runs at the same time."""
        added: list[tuple[Address, Queued]] = []
        with self.transaction() as db:
            if seqs is None:
                letters = self.dead_letters()
            else:  # by their ids (the primary key), not by reading every dead letter
                letters = _letters(
                    db.execute(f"SELECT * FROM dead_letters WHERE seq {_IN_JSON} ORDER BY seq", (_json_ids(seqs),))
                )
            self._insert(db, [letter.envelope for letter in letters], added)
            db.executemany("DELETE FROM dead_letters WHERE seq = ?", [(letter.seq,) for letter in letters])
        self._added(added)
        return list(dict.fromkeys(letter.envelope.target for letter in letters))

    def discard(self, seqs: Iterable[int]) -> int:
        """Delete these dead letters for good (ids of none are passed over); returns how many there were."""
        with self.transaction() as db:
            return db.execute(f"DELETE FROM dead_letters WHERE seq {_IN_JSON}", (_json_ids(seqs),)).rowcount


#: a set of ids as one parameter (a JSON array), however many there are
_IN_JSON = "IN (SELECT value FROM json_each(?))"


def _json_ids(seqs: Iterable[int]) -> str:
    return json.dumps(sorted({int(seq) for seq in seqs}))


def _letters(rows: Iterable[tuple[Any, ...]]) -> list[DeadLetter]:
    """Rows of ``SELECT * FROM dead_letters``; a folder an earlier release wrote, opened read-only (never
    migrated), has no ``arg_extra`` column."""
    return [
        DeadLetter(
            seq, Envelope(Address(t, i), Value(at_, arg, extra[0] or b"" if extra else b""), caller(ct, ci)), reason, at
        )
        for seq, t, i, ct, ci, at_, arg, reason, at, *extra in rows
    ]


def _add_columns(db: sqlite3.Connection) -> None:
    """The columns a state folder written by an earlier release lacks (:data:`ADDED_COLUMNS`)."""
    for table, column in ADDED_COLUMNS:
        name = column.split()[0]
        if all(info[1] != name for info in db.execute(f"PRAGMA table_info({table})")):
            db.execute(f"ALTER TABLE {table} ADD COLUMN {column}")
