"""The store's SQL: the schema and the row shapes of queued messages."""

from __future__ import annotations

from statefun_faas.runtime.records import Address, DelayedEnvelope, Envelope

SCHEMA = """
CREATE TABLE IF NOT EXISTS state (
    typename TEXT NOT NULL, id TEXT NOT NULL, name TEXT NOT NULL,
    value_typename TEXT NOT NULL, value BLOB NOT NULL, expires_at REAL,
    PRIMARY KEY (typename, id, name)) WITHOUT ROWID;
CREATE INDEX IF NOT EXISTS state_expiry ON state (expires_at) WHERE expires_at IS NOT NULL;
CREATE TABLE IF NOT EXISTS specs (
    typename TEXT NOT NULL, name TEXT NOT NULL, value_typename TEXT NOT NULL,
    expire_mode INTEGER NOT NULL, expire_ms INTEGER NOT NULL,
    PRIMARY KEY (typename, name)) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS inbox (
    seq INTEGER PRIMARY KEY, typename TEXT NOT NULL, id TEXT NOT NULL,
    caller_typename TEXT, caller_id TEXT, arg_typename TEXT NOT NULL, arg BLOB, arg_extra BLOB);
CREATE INDEX IF NOT EXISTS inbox_address ON inbox (typename, id, seq);
CREATE TABLE IF NOT EXISTS delayed (
    seq INTEGER PRIMARY KEY, fire_at REAL NOT NULL,
    sender_typename TEXT NOT NULL, sender_id TEXT NOT NULL, token TEXT NOT NULL,
    typename TEXT NOT NULL, id TEXT NOT NULL, arg_typename TEXT NOT NULL, arg BLOB, arg_extra BLOB);
CREATE INDEX IF NOT EXISTS delayed_fire ON delayed (fire_at);
CREATE INDEX IF NOT EXISTS delayed_token ON delayed (sender_typename, sender_id, token);
CREATE INDEX IF NOT EXISTS delayed_target ON delayed (typename, id, fire_at);
CREATE TABLE IF NOT EXISTS egress (
    seq INTEGER PRIMARY KEY, egress_id TEXT NOT NULL, topic TEXT NOT NULL,
    typename TEXT NOT NULL, payload BLOB NOT NULL);
CREATE INDEX IF NOT EXISTS egress_topic ON egress (egress_id, topic, seq);
CREATE TABLE IF NOT EXISTS offsets (
    source TEXT NOT NULL PRIMARY KEY, position TEXT NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS dead_letters (
    seq INTEGER PRIMARY KEY, typename TEXT NOT NULL, id TEXT NOT NULL,
    caller_typename TEXT, caller_id TEXT, arg_typename TEXT NOT NULL, arg BLOB,
    reason TEXT NOT NULL, at REAL NOT NULL, arg_extra BLOB);
CREATE TABLE IF NOT EXISTS invocations (
    n INTEGER PRIMARY KEY, typename TEXT NOT NULL, id TEXT NOT NULL, endpoint TEXT NOT NULL,
    seqs TEXT NOT NULL, last_seq INTEGER NOT NULL, started REAL NOT NULL, seconds REAL NOT NULL,
    requests TEXT NOT NULL, outcome TEXT NOT NULL, reason TEXT, effects TEXT, dead_letters TEXT);
CREATE INDEX IF NOT EXISTS invocations_address ON invocations (typename, id, n);
"""
#: the invocations table (see :mod:`history`): ``seqs``, ``requests``, ``effects`` and ``dead_letters`` are JSON
INVOCATION_COLUMNS = (
    "n, typename, id, endpoint, seqs, last_seq, started, seconds, requests, outcome, reason, effects, dead_letters"
)

#: columns a state folder written before them lacks: added at open (``ALTER TABLE ... ADD COLUMN``, at the end,
#: where CREATE TABLE puts them too). ``arg_extra``: a message value's other fields (:attr:`Value.extra`).
ADDED_COLUMNS = (("inbox", "arg_extra BLOB"), ("delayed", "arg_extra BLOB"), ("dead_letters", "arg_extra BLOB"))

INBOX_INSERT = (  # with the seq given: the seqs SQLite would pick, known without a statement per row
    "INSERT INTO inbox (seq, typename, id, caller_typename, caller_id, arg_typename, arg, arg_extra) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
)
Row = tuple[str, str, str | None, str | None, str, bytes | None, bytes | None]


def row(envelope: Envelope) -> Row:
    caller = envelope.caller
    return (
        envelope.target.typename,
        envelope.target.id,
        caller.typename if caller else None,
        caller.id if caller else None,
        envelope.argument.typename,
        envelope.argument.data,
        envelope.argument.extra or None,
    )


def delayed_row(delayed: DelayedEnvelope) -> tuple[object, ...]:
    target, argument = delayed.envelope.target, delayed.envelope.argument
    sender = delayed.sender
    return (
        delayed.fire_at,
        sender.typename,
        sender.id,
        delayed.token,
        *key(target),
        argument.typename,
        argument.data,
        argument.extra or None,
    )


def key(address: Address) -> tuple[str, str]:
    return address.typename, address.id


def caller(typename: str | None, id_: str | None) -> Address | None:
    return None if typename is None or id_ is None else Address(typename, id_)
