"""The invocation history: the newest delivered batches, kept in the store for people (``statefun-faas trace``,
the console) to answer "what happened to this message".

:meth:`History.observe` is a router observer: it keeps each delivered batch (an :class:`Invocation`) in memory,
the newest ``keep`` of them. :func:`flush_history` writes them once a second, a chunk of rows per transaction,
so the history adds no transaction per batch to the message path, and at a high rate turns into rows only the
invocations it keeps (those it would prune right away never cost a row). Each write deletes the rows before
the newest ``keep`` by their key. History is for looking, not for recovery: rows a write fails to store are
lost, and a killed runtime loses the last second of them. At most ``keep`` rows a second cost about 10 us
each: with the default 1,000, 1% of a core however fast the messages come. Until written, an invocation's
effects (their payloads too) stay in memory.

A row (table ``invocations``): the address, the endpoint, the batch's inbox seqs, when it started and how long
it took, every request (started, seconds, error), the outcome and its reason, a summary of the applied effects
(:class:`Effects`) and the ids of the dead letters it became. :func:`record` reads one back.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from statefun_faas.runtime.defaults import HISTORY
from statefun_faas.runtime.records import DEAD_LETTERED, Address, Attempt, Invocation, Writes
from statefun_faas.runtime.store.database import Store
from statefun_faas.runtime.store.schema import INVOCATION_COLUMNS

logger = logging.getLogger("statefun_faas.runtime")

#: invocations kept when no --history is given
DEFAULT_KEEP = HISTORY
#: seconds between two writes of the invocations observed meanwhile
FLUSH_EVERY_S = 1.0
#: rows one transaction of the history writes (about 10 us each: the loop is not held long)
CHUNK = 200
#: entries each list of an effects summary keeps; those beyond are only counted (:attr:`Effects.omitted`)
MOST = 100

INSERT = f"INSERT INTO invocations ({INVOCATION_COLUMNS}) VALUES ({', '.join('?' * 13)})"


@dataclass(frozen=True, slots=True)
class Request:
    """One request of an invocation: when it started (epoch seconds), how long it took, its failure (None:
    the function answered)."""

    started: float
    seconds: float
    error: str | None


@dataclass(frozen=True, slots=True)
class Sent:
    """``count`` messages of ``typename`` sent to ``target`` by one invocation."""

    target: Address
    typename: str
    count: int


@dataclass(frozen=True, slots=True)
class SentDelayed:
    """A delayed message: to ``target``, fired ``delay`` seconds after the invocation, cancellable by ``token``
    ("" when it has none)."""

    target: Address
    typename: str
    delay: float
    token: str


@dataclass(frozen=True, slots=True)
class Egressed:
    """``count`` records of ``typename`` written to egress ``egress_id`` (``topic`` "" when it has none)."""

    egress_id: str
    topic: str
    typename: str
    count: int


@dataclass(frozen=True, slots=True)
class Effects:
    """What an applied invocation wrote: the state names it set and deleted, messages sent, delayed messages
    sent and cancelled (by token), egress records. Each list keeps :data:`MOST` entries; ``omitted`` counts the
    entries left out. ``sent_seqs``: the inbox seqs its messages got, in the order it sent them."""

    modified: tuple[str, ...] = ()
    deleted: tuple[str, ...] = ()
    messages: tuple[Sent, ...] = ()
    delayed: tuple[SentDelayed, ...] = ()
    cancelled: tuple[str, ...] = ()
    egress: tuple[Egressed, ...] = ()
    omitted: int = 0
    sent_seqs: range = range(0)


@dataclass(frozen=True, slots=True)
class InvocationRecord:
    """One delivered batch as the history keeps it. ``n`` orders the history (larger: later). ``endpoint``: the
    URL called (credentials redacted), "in-process", or "" when no endpoint served the type. ``outcome``:
    "applied", "dead-lettered" or "isolated" (the batch failed in a way one message may cause, and was
    delivered again by halves, each half an invocation of its own). ``effects``: set when applied.
    ``dead_letters``: the ids (``statefun-faas dead-letters``) of the dead letters its messages became, in the
    order of ``seqs``, when known."""

    n: int
    address: Address
    endpoint: str
    seqs: tuple[int, ...]
    started: float
    seconds: float
    requests: tuple[Request, ...]
    outcome: str
    reason: str | None
    effects: Effects | None
    dead_letters: tuple[int, ...]

    @property
    def failures(self) -> int:
        """The requests that failed (each one was retried or ended the invocation)."""
        return sum(1 for request in self.requests if request.error is not None)


class History:
    """Keeps the newest ``keep`` invocations of the store's router (see the module's text); ``keep`` 0
    empties the history and keeps none."""

    def __init__(self, store: Store, keep: int = DEFAULT_KEEP) -> None:
        if keep < 0:
            raise ValueError(f"the history keeps 0 or more invocations, got {keep}")
        self.store, self.keep = store, keep
        #: observed, not written yet: the newest ``keep`` at most (older ones would be pruned as they are written)
        self._observed: deque[tuple[Invocation, tuple[int, ...], int]] = deque(maxlen=max(keep, 1))
        with store.transaction() as db:
            self._next = db.execute("SELECT coalesce(max(n), 0) + 1 FROM invocations").fetchone()[0]
            self._prune(db)

    def observe(self, invocation: Invocation) -> None:
        """The router observer: keeps the invocation in memory for :meth:`write`. The router observes a batch
        right after the store dead-lettered it, or committed its effects: the ids of those dead letters, and
        the first seq of the messages it sent, are the store's last ones."""
        dead: tuple[int, ...] = ()
        sent = 0
        if invocation.outcome == DEAD_LETTERED:
            last = self.store.last_dead_letters
            if last is not None and last[0] == invocation.address and len(last[1]) == len(invocation.seqs):
                dead = last[1]
        elif invocation.writes is not None and invocation.writes.messages:
            sent = self.store.last_sent.get(invocation.address, 0)
        self._observed.append((invocation, dead, sent))

    def write(self, most: int = CHUNK, wait: bool = False) -> bool:
        """Write the oldest ``most`` invocations observed, and prune, in one transaction; True when more wait.
        While another connection holds the write lock, they wait for the next write (``wait`` False: the
        history never holds the event loop for a lock); a store that can not write keeps none of them, and
        says so."""
        if not self._observed:
            return False
        taken = [self._observed.popleft() for _ in range(min(most, len(self._observed)))]
        try:
            with self.store.transaction(wait) as db:
                first = self._next
                db.executemany(INSERT, [row(first + i, *item) for i, item in enumerate(taken)])
                self._next = first + len(taken)
                self._prune(db)
        except sqlite3.Error as error:
            if error.sqlite_errorcode & 0xFF == sqlite3.SQLITE_BUSY:
                self._observed.extendleft(reversed(taken))
                return False
            logger.warning("the invocation history could not be written: %s", error)
        return bool(self._observed)

    def flush(self) -> None:
        """Write every invocation observed, waiting for a lock as every write does (the runtime stopping)."""
        while self.write(wait=True):
            pass

    def _prune(self, db: sqlite3.Connection) -> None:
        db.execute("DELETE FROM invocations WHERE n < ?", (self._next - self.keep,))


async def flush_history(history: History) -> None:
    """Every ``FLUSH_EVERY_S`` seconds, write what was observed, ``CHUNK`` rows a loop turn; runs until cancelled."""
    while True:
        await asyncio.sleep(FLUSH_EVERY_S)
        while history.write():
            await asyncio.sleep(0)  # the message path goes on between two chunks


def row(n: int, invocation: Invocation, dead_letters: tuple[int, ...], first_sent: int = 0) -> tuple[object, ...]:
    """The invocation as a row of the table; written by hand where JSON's encoder is slower than the row needs
    (the history's cost is this, on the event loop, per delivered batch)."""
    writes, seqs = invocation.writes, invocation.seqs
    return (
        n,
        *invocation.address,
        invocation.endpoint,
        f"[{','.join(map(str, seqs))}]",
        max(seqs, default=0),
        invocation.started,
        invocation.seconds,
        f"[{','.join(map(_request, invocation.attempts))}]",
        invocation.outcome,
        invocation.reason,
        None if writes is None else json.dumps(summary(writes, first_sent), separators=(",", ":")),
        f"[{','.join(map(str, dead_letters))}]" if dead_letters else None,
    )


def _request(attempt: Attempt) -> str:
    error = "null" if attempt.error is None else json.dumps(attempt.error)
    return f"[{attempt.started!r},{attempt.seconds!r},{error}]"


def summary(writes: Writes, first_sent: int = 0) -> dict[str, Any]:
    """The effects of one response as JSON-able lists (see :class:`Effects`); empty ones left out.
    ``first_sent``: the seq its first message got (0: not known)."""
    found: dict[str, Any] = {}
    if first_sent:
        found["sent"] = [first_sent, len(writes.messages)]
    omitted = 0
    if writes.mutations:
        found["modified"] = sorted({m.name for m in writes.mutations if m.data is not None})
        found["deleted"] = sorted({m.name for m in writes.mutations if m.data is None})
    if writes.messages:
        messages = _counted((*m.target, m.argument.typename) for m in writes.messages)
        found["messages"], omitted = messages[:MOST], omitted + max(0, len(messages) - MOST)
    if writes.delayed:
        now = writes.now
        delayed = [
            (*d.envelope.target, d.envelope.argument.typename, round(d.fire_at - now, 3), d.token)
            for d in writes.delayed
        ]
        found["delayed"], omitted = delayed[:MOST], omitted + max(0, len(delayed) - MOST)
    if writes.cancelled:
        found["cancelled"], omitted = writes.cancelled[:MOST], omitted + max(0, len(writes.cancelled) - MOST)
    if writes.egress:
        egress = _counted((r.egress_id, r.topic, r.typename) for r in writes.egress)
        found["egress"], omitted = egress[:MOST], omitted + max(0, len(egress) - MOST)
    if omitted:
        found["omitted"] = omitted
    return {name: value for name, value in found.items() if value}


def _counted(entries: Iterable[tuple[str, ...]]) -> list[list[object]]:
    """Equal entries once each, in the order first seen, with how many there were."""
    counts: dict[tuple[str, ...], int] = {}
    for entry in entries:
        counts[entry] = counts.get(entry, 0) + 1
    return [[*entry, count] for entry, count in counts.items()]


def record(columns: tuple[Any, ...]) -> InvocationRecord:
    """A row of ``SELECT {INVOCATION_COLUMNS} FROM invocations`` read back."""
    n, typename, id_, endpoint, seqs, _, started, seconds, requests, outcome, reason, effects, dead = columns
    return InvocationRecord(
        n,
        Address(typename, id_),
        endpoint,
        tuple(json.loads(seqs)),
        started,
        seconds,
        tuple(Request(*request) for request in json.loads(requests)),
        outcome,
        reason,
        None if effects is None else _effects(json.loads(effects)),
        tuple(json.loads(dead)) if dead else (),
    )


def _effects(found: dict[str, Any]) -> Effects:
    first_sent, sent = found.get("sent", (0, 0))
    return Effects(
        tuple(found.get("modified", ())),
        tuple(found.get("deleted", ())),
        tuple(Sent(Address(t, i), typename, count) for t, i, typename, count in found.get("messages", ())),
        tuple(
            SentDelayed(Address(t, i), typename, delay, token)
            for t, i, typename, delay, token in found.get("delayed", ())
        ),
        tuple(found.get("cancelled", ())),
        tuple(Egressed(*entry) for entry in found.get("egress", ())),
        found.get("omitted", 0),
        range(first_sent, first_sent + sent),
    )
