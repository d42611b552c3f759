"""What the store knows of its inboxes without asking SQLite: the committed rows of recently busy addresses.

SQLite stays the only truth; this is a mirror of committed rows, updated only after a commit, so the
router's per-batch read of an inbox needs no query. For an address the cache is in one of three states:

- in ``queues``: the list is exactly its inbox rows, in order;
- in ``uncertain``: its inbox may hold rows the cache does not have (read SQLite);
- neither: its inbox is empty.

That last rule only holds once :meth:`resync` saw every address with waiting rows (the router calls it
on start and whenever another process wrote to the store); before, every address counts as uncertain.
At most ``limit`` messages are mirrored: beyond it an address just becomes uncertain, so memory stays
flat however long the queues grow.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from statefun_faas.runtime.records import Address, Queued

DEFAULT_LIMIT = 20_000


class InboxCache:
    def __init__(self, limit: int = DEFAULT_LIMIT) -> None:
        self.limit = limit
        self.queues: dict[Address, list[Queued]] = {}
        self.uncertain: set[Address] = set()
        self.trusted = False  # resync has run: addresses in neither set have empty inboxes
        self.size = 0

    def resync(self, waiting: Iterable[Address]) -> None:
        """Forget the mirror: exactly the addresses in ``waiting`` may have rows."""
        self.queues.clear()
        self.uncertain = set(waiting)
        self.size = 0
        self.trusted = True

    def read(self, address: Address, limit: int, select: Callable[[], list[Queued]]) -> list[Queued]:
        """The first ``limit`` rows of the inbox; ``select`` reads them from SQLite when the mirror can not."""
        queue = self.queues.get(address)
        if queue is not None:
            return queue[:limit]
        if self.trusted and address not in self.uncertain:
            return []
        rows = select()
        if self.trusted and len(rows) < limit:  # the read saw the whole inbox
            self.uncertain.discard(address)
            self._keep(address, rows)
        return rows

    def added(self, address: Address, rows: list[Queued]) -> None:
        """Rows were committed to the inbox of ``address``."""
        if not self.trusted or address in self.uncertain:
            return
        queue = self.queues.get(address)
        if queue is None:
            self._keep(address, rows)
        elif self.size + len(rows) <= self.limit:
            queue.extend(rows)
            self.size += len(rows)
        else:
            self.unsure([address])

    def removed(self, address: Address, seqs: list[int]) -> None:
        """Rows were deleted from the inbox of ``address`` (delivered or dead-lettered)."""
        queue = self.queues.get(address)
        if queue is None or not seqs:
            return
        before = len(queue)
        if [queued.seq for queued in queue[: len(seqs)]] == seqs:  # the usual case: the batch was the head
            del queue[: len(seqs)]
        else:
            gone = set(seqs)
            queue[:] = [queued for queued in queue if queued.seq not in gone]
        self.size -= before - len(queue)
        if not queue:
            del self.queues[address]

    def unsure(self, addresses: Iterable[Address]) -> None:
        """Rows the mirror does not know were committed for these addresses."""
        for address in addresses:
            queue = self.queues.pop(address, None)
            if queue is not None:
                self.size -= len(queue)
            if self.trusted:
                self.uncertain.add(address)

    def _keep(self, address: Address, rows: list[Queued]) -> None:
        if not rows:
            return
        if self.size + len(rows) > self.limit:
            self.uncertain.add(address)
            return
        self.queues[address] = list(rows)
        self.size += len(rows)
