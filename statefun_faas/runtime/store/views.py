"""What a state folder holds, for people: the read-only queries the CLI and the console share.

Every function takes a :class:`Store` first and only reads. Either the runtime's own store (``runtime.store``,
called on the runtime's event loop: each query is short and runs between the router's transactions), or one
opened beside a running runtime with ``Store.read_only(state_dir)`` (any thread, its own connection; close it
with ``store.close()``). Results are plain frozen dataclasses; values stay bytes (:class:`Value`: ``typename``
and ``data``), for the caller to decode. Lists are paged by keyset: pass the last item's key back as ``after``
(``before`` for the history), so a page costs the same at any depth.

- :func:`addresses`: the addresses that hold state, or have waiting or delayed messages, with how many of
  each (:class:`AddressSummary`), filtered by typename (exact, or a prefix written ``"example/*"``) and id
  prefix, in (typename, id) order. ``page.next`` is the ``after`` of the next page (None: last page).
- :func:`states`: one address's registered states with their values (:class:`StateValue`).
- :func:`inbox`: one address's waiting messages, oldest first (:class:`Waiting`); ``after`` is a seq.
- :func:`delayed`: pending delayed messages (:class:`Pending`) to one address or to all, by fire time;
  ``after`` is the last one's :attr:`Pending.key`.
- :func:`dead_letters`: dead letters by id (:class:`DeadLetter`), all or one address's; ``after`` is an id.
- :func:`history`: one address's last invocations, newest first (:class:`InvocationRecord`, see
  :mod:`history`); ``before`` is the last one's ``n``.
- :func:`story`: what happened to the message with inbox seq ``seq`` (:class:`Story`): the invocation that
  sent it, still waiting, the invocations that carried it (called, retried, isolated, applied with its
  effects, dead-lettered with the reason), the dead letter it became.
- :func:`totals`: messages waiting, delayed, dead letters, invocations kept.

A message's seq is the one its inbox row got when it was stored (``inbox`` shows it; the history lists each
batch's seqs); a dead letter replayed gets a new seq. A folder last written by an older version that had no
history answers an empty history.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from statefun_faas.runtime.records import Address, DeadLetter, Spec, Value
from statefun_faas.runtime.store.database import Store
from statefun_faas.runtime.store.history import (
    Effects,
    Egressed,
    InvocationRecord,
    Request,
    Sent,
    SentDelayed,
    record,
)
from statefun_faas.runtime.store.schema import INVOCATION_COLUMNS, caller

__all__ = [
    "AddressPage",
    "AddressSummary",
    "DeadLetter",
    "Effects",
    "Egressed",
    "InvocationRecord",
    "Pending",
    "Request",
    "Sent",
    "SentDelayed",
    "StateValue",
    "Story",
    "Totals",
    "Waiting",
    "addresses",
    "dead_letters",
    "delayed",
    "history",
    "inbox",
    "states",
    "story",
    "totals",
]


@dataclass(frozen=True, slots=True)
class AddressSummary:
    """An address with its unexpired state values, waiting messages and pending delayed messages (to it)."""

    address: Address
    states: int
    waiting: int
    delayed: int


@dataclass(frozen=True, slots=True)
class AddressPage:
    """One page of :func:`addresses`; ``next`` is the ``after`` of the next page, None on the last."""

    items: tuple[AddressSummary, ...]
    next: Address | None


@dataclass(frozen=True, slots=True)
class StateValue:
    """A registered state of an address: its spec (name, typename, expiry) and value (None: no value)."""

    spec: Spec
    value: Value | None


@dataclass(frozen=True, slots=True)
class Waiting:
    """A message in an address's inbox; ``caller`` None: from an ingress (or a fired delayed message's
    sender, when it had one)."""

    seq: int
    caller: Address | None
    argument: Value

    @property
    def size(self) -> int:
        return len(self.argument.data or b"")


@dataclass(frozen=True, slots=True)
class Pending:
    """A delayed message waiting for ``fire_at`` (epoch seconds); ``token`` "" when it can not be cancelled."""

    seq: int
    fire_at: float
    target: Address
    sender: Address
    token: str
    argument: Value

    @property
    def size(self) -> int:
        return len(self.argument.data or b"")

    @property
    def key(self) -> tuple[float, int]:
        """The ``after`` of the page that follows this message."""
        return self.fire_at, self.seq


@dataclass(frozen=True, slots=True)
class Story:
    """What happened to one message. ``sent_by``: the invocation that sent it (None: an ingress or a fired
    delayed message stored it, or the history no longer keeps its sender). ``waiting``: it is in its inbox now
    (not yet delivered, or being delivered or retried). ``invocations``: the batches that carried it, oldest
    first. ``dead_letter``: the dead letter it became, while it is one. The history keeps the last invocations
    only: an older part of the story is missing."""

    seq: int
    address: Address | None
    waiting: Waiting | None
    invocations: tuple[InvocationRecord, ...]
    dead_letter: DeadLetter | None
    sent_by: InvocationRecord | None = None

    @property
    def outcome(self) -> str:
        """ "waiting", "applied", "dead-lettered", "isolated" (its batch was split and no half is known yet), or
        "unknown" (no such message, or delivered before the oldest invocation the history keeps)."""
        if self.waiting is not None:
            return "waiting"
        return self.invocations[-1].outcome if self.invocations else "unknown"


@dataclass(frozen=True, slots=True)
class Totals:
    waiting: int
    delayed: int
    dead_letters: int
    invocations: int


def addresses(
    store: Store,
    typename: str = "",
    id_prefix: str = "",
    after: Address | None = None,
    limit: int = 50,
    now: float | None = None,
) -> AddressPage:
    """The addresses after ``after`` that hold state or have waiting or delayed messages, ``limit`` at most,
    in (typename, id) order. ``typename``: that type only, or every type starting with what comes before a
    final ``*`` (``"example/*"``); "" any. ``id_prefix``: ids starting with it. ``now``: for state expiry
    (default: the time now). Each of the three tables is read by its (typename, id) index, ``limit + 1``
    addresses at most."""
    if limit < 1:
        raise ValueError(f"limit must be 1 or more, got {limit}")
    where, parameters = _filter(typename, id_prefix, after)
    found: dict[Address, list[int]] = {}
    sources: tuple[tuple[str, str, list[object]], ...] = (
        ("state", " AND (expires_at IS NULL OR expires_at > ?)", [time.time() if now is None else now]),
        ("inbox", "", []),
        ("delayed", "", []),
    )
    for column, (table, extra, more) in enumerate(sources):
        query = (
            f"SELECT typename, id, count(*) FROM {table} WHERE {where}{extra} "
            "GROUP BY typename, id ORDER BY typename, id LIMIT ?"
        )
        for typename_, id_, count in store.db.execute(query, (*parameters, *more, limit + 1)):
            found.setdefault(Address(typename_, id_), [0, 0, 0])[column] = count
    ordered = sorted(found)
    items = tuple(AddressSummary(address, *found[address]) for address in ordered[:limit])
    return AddressPage(items, items[-1].address if len(ordered) > limit else None)


def _filter(typename: str, id_prefix: str, after: Address | None) -> tuple[str, list[object]]:
    """The WHERE clause of :func:`addresses`: ranges of the (typename, id) index, never a scan-only LIKE."""
    clauses, parameters = ["1"], list[object]()
    if typename.endswith("*"):
        _prefix("typename", typename[:-1], clauses, parameters)
    elif typename:
        clauses.append("typename = ?")
        parameters.append(typename)
    _prefix("id", id_prefix, clauses, parameters)
    if after is not None:
        clauses.append("(typename, id) > (?, ?)")
        parameters.extend(after)
    return " AND ".join(clauses), parameters


def _prefix(column: str, prefix: str, clauses: list[str], parameters: list[object]) -> None:
    """``column`` starts with ``prefix``, as a range: SQLite compares text as UTF-8 bytes, in code point order."""
    if not prefix:
        return
    clauses.append(f"{column} >= ?")
    parameters.append(prefix)
    bound = prefix.rstrip(chr(0x10FFFF))  # the least text after every text that starts with prefix
    if bound:
        last = ord(bound[-1]) + 1
        clauses.append(f"{column} < ?")
        parameters.append(bound[:-1] + chr(0xE000 if 0xD800 <= last <= 0xDFFF else last))


def states(store: Store, address: Address, now: float | None = None) -> list[StateValue]:
    """The states registered for the address's type, by name, with the address's unexpired values."""
    values = store.state(address, time.time() if now is None else now)
    return [StateValue(spec, values.get(name)) for name, spec in store.specs(address.typename).items()]


def inbox(store: Store, address: Address, after: int = 0, limit: int = 100) -> list[Waiting]:
    """The address's waiting messages with a seq after ``after``, oldest first, ``limit`` at most (< 0: all);
    ``store.inbox_size(address)`` counts them all."""
    rows = store.db.execute(
        "SELECT seq, caller_typename, caller_id, arg_typename, arg FROM inbox "
        "WHERE typename = ? AND id = ? AND seq > ? ORDER BY seq LIMIT ?",
        (*address, after, limit),
    )
    return [Waiting(seq, caller(ct, ci), Value(at, arg)) for seq, ct, ci, at, arg in rows]


def delayed(
    store: Store, address: Address | None = None, after: tuple[float, int] | None = None, limit: int = 100
) -> list[Pending]:
    """Pending delayed messages to ``address`` (None: to any), by fire time, those after ``after`` (a
    :attr:`Pending.key`), ``limit`` at most (< 0: all)."""
    clauses, parameters = ["(fire_at, seq) > (?, ?)"], list[object](after or (float("-inf"), 0))
    if address is not None:
        clauses.insert(0, "typename = ? AND id = ?")
        parameters[:0] = address
    rows = store.db.execute(
        "SELECT seq, fire_at, typename, id, sender_typename, sender_id, token, arg_typename, arg FROM delayed "
        f"WHERE {' AND '.join(clauses)} ORDER BY fire_at, seq LIMIT ?",
        (*parameters, limit),
    )
    return [
        Pending(seq, fire_at, Address(t, i), Address(st, si), token, Value(at, arg))
        for seq, fire_at, t, i, st, si, token, at, arg in rows
    ]


def dead_letters(store: Store, address: Address | None = None, after: int = 0, limit: int = 100) -> list[DeadLetter]:
    """Dead letters (of ``address`` only, when given) with an id after ``after``, by id, ``limit`` at most
    (< 0: all). Their ids are what ``statefun-faas dead-letters --replay`` takes."""
    return store.dead_letters(after, limit, address)


def history(store: Store, address: Address, before: int | None = None, limit: int = 20) -> list[InvocationRecord]:
    """The address's last invocations the history keeps, newest first, those before ``n`` ``before``,
    ``limit`` at most (< 0: all)."""
    query = (
        f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE typename = ? AND id = ? AND n < ? ORDER BY n DESC LIMIT ?"
    )
    return [record(row) for row in _rows(store, query, (*address, 1 << 62 if before is None else before, limit))]


def story(store: Store, seq: int, address: Address | None = None) -> Story:
    """What happened to the message with inbox seq ``seq`` (of ``address``, when given: a query by its index;
    without it the whole history is read)."""
    where = "last_seq >= ? AND EXISTS (SELECT 1 FROM json_each(seqs) WHERE value = ?)"
    parameters: list[object] = [seq, seq]
    if address is not None:
        where, parameters = f"typename = ? AND id = ? AND {where}", [*address, seq, seq]
    query = f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE {where} ORDER BY n"
    invocations = tuple(record(row) for row in _rows(store, query, parameters))
    waiting_row = store.db.execute(
        "SELECT typename, id, seq, caller_typename, caller_id, arg_typename, arg FROM inbox WHERE seq = ?", (seq,)
    ).fetchone()
    waiting = None
    if waiting_row is not None and (address is None or Address(*waiting_row[:2]) == address):
        address = Address(*waiting_row[:2])
        waiting = Waiting(waiting_row[2], caller(*waiting_row[3:5]), Value(*waiting_row[5:]))
    if invocations:
        address = invocations[-1].address
    return Story(seq, address, waiting, invocations, _dead_letter(store, seq, invocations), _sender(store, seq))


def _sender(store: Store, seq: int) -> InvocationRecord | None:
    """The invocation whose messages got seqs from ``sent[0]`` on (a read of every row the history keeps)."""
    first, count = "json_extract(effects, '$.sent[0]')", "json_extract(effects, '$.sent[1]')"
    query = (
        f"SELECT {INVOCATION_COLUMNS} FROM invocations WHERE last_seq < ? AND effects IS NOT NULL "
        f"AND {first} <= ? AND {first} + {count} > ? ORDER BY n DESC LIMIT 1"
    )
    found = _rows(store, query, (seq, seq, seq))
    return record(found[0]) if found else None


def _dead_letter(store: Store, seq: int, invocations: tuple[InvocationRecord, ...]) -> DeadLetter | None:
    """The dead letter the message became, while it is one (the id is checked against its address and reason:
    an id is given again once its letter is replayed)."""
    last = invocations[-1] if invocations else None
    if last is None or not last.dead_letters:
        return None
    letter_id = last.dead_letters[last.seqs.index(seq)]
    letters = store.dead_letters(letter_id - 1, 1, last.address)
    if letters and letters[0].seq == letter_id and letters[0].reason == last.reason:
        return letters[0]
    return None


def totals(store: Store) -> Totals:
    """How many messages wait in the inboxes, delayed messages are pending, dead letters and invocations are kept."""
    count = "SELECT (SELECT count(*) FROM inbox), (SELECT count(*) FROM delayed), (SELECT count(*) FROM dead_letters)"
    waiting, pending, dead = store.db.execute(count).fetchone()
    kept = _rows(store, "SELECT count(*) FROM invocations", ())
    return Totals(waiting, pending, dead, kept[0][0] if kept else 0)


def backlog(store: Store) -> list[tuple[str, int]]:
    """Messages waiting in the inboxes, by function type."""
    return store.db.execute("SELECT typename, count(*) FROM inbox GROUP BY typename ORDER BY typename").fetchall()


def egress_waiting(store: Store) -> list[tuple[str, int]]:
    """Egress records stored and not yet read or forwarded, by egress id."""
    return store.db.execute("SELECT egress_id, count(*) FROM egress GROUP BY egress_id ORDER BY egress_id").fetchall()


def _rows(store: Store, query: str, parameters: Sequence[object]) -> list[tuple[Any, ...]]:
    """The rows of a query of the history; none in a folder written before there was one (opened read-only,
    its table was never made)."""
    try:
        return store.db.execute(query, parameters).fetchall()
    except sqlite3.OperationalError as error:
        if "no such table: invocations" in str(error):
            return []
        raise
