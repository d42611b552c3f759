"""A bounded mirror of committed state rows, so delivering a batch to a recently busy address needs no query.

SQLite stays the only truth and this process its only writer of state; the mirror is changed only after a
commit, with what the commit wrote. It holds at most ``limit`` addresses (the least recently stored go
first), so memory stays flat however many addresses hold state. Rows keep their expiry time and are
filtered on read, as the query filters them.
"""

from __future__ import annotations

from collections.abc import Callable

from statefun_faas.runtime.records import Address, Value, Writes

DEFAULT_LIMIT = 10_000

#: one state row: (value typename, value bytes, expires at in epoch seconds or None)
StateRow = tuple[str, bytes, float | None]


class StateCache:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.rows: dict[Address, dict[str, StateRow]] = {}  # insertion order: oldest first

    def read(self, address: Address, now: float, select: Callable[[], dict[str, StateRow]]) -> dict[str, Value]:
        """The unexpired values of ``address``; ``select`` reads every row of it from SQLite on a miss."""
        rows = self.rows.get(address)
        if rows is None:
            rows = self._keep(address, select())
        return {
            name: Value(typename, data)
            for name, (typename, data, expires_at) in rows.items()
            if expires_at is None or expires_at > now
        }

    def applied(self, writes: Writes) -> None:
        """A response was committed: mirror its state writes (addresses not mirrored are read when needed)."""
        rows = self.rows.get(writes.address)
        if rows is None:
            return
        for mutation in writes.mutations:
            if mutation.data is None:
                rows.pop(mutation.name, None)
            else:
                rows[mutation.name] = (mutation.typename, mutation.data, mutation.expires_at)
        for name, expires_at in writes.touched:  # as the store's UPDATE: only rows unexpired when invoked
            row = rows.get(name)
            if row is not None and row[2] is not None and row[2] > writes.now:
                rows[name] = (row[0], row[1], expires_at)

    def _keep(self, address: Address, rows: dict[str, StateRow]) -> dict[str, StateRow]:
        if len(self.rows) >= self.limit:
            del self.rows[next(iter(self.rows))]
        self.rows[address] = rows
        return rows
