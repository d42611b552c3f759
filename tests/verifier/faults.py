"""The fault injector: a seeded schedule of kills, failpoints, armed HTTP faults, a state file locked by
another process and a full disk while the load runs. Poison messages are no scheduled fault: the
generator marks them (see :mod:`tests.verifier.commands`)."""

from __future__ import annotations

import asyncio
import json
import random
import signal
from collections import Counter
from collections.abc import Sequence

import aiohttp

from tests.verifier.cluster import Cluster, can_fill_a_disk
from tests.verifier.faulty import CONTROL_PATH

#: Every fault kind the injector knows; HTTP kinds are served by the faulty server, the others done here.
KINDS = (
    "server-kill",
    "error",
    "error-after",
    "timeout",
    "slow",
    "runtime-kill",
    "failpoint:after-ingress-commit",
    "failpoint:before-apply",
    "lock-held",
    "disk-full",
    "poison",
)
HTTP_KINDS = ("error", "error-after", "timeout", "slow")
#: kinds carried by the messages themselves, not injected on a schedule
MESSAGE_KINDS = ("poison",)
#: the runtime's SQLite busy timeout (``PRAGMA busy_timeout`` in runtime/store/database.py): a write
#: lock held longer than this makes the runtime's own writes fail with "database is locked"
BUSY_TIMEOUT_S = 5.0


def runnable_kinds() -> list[str]:
    """Every kind but disk-full where this machine can not mount the small filesystem it fills (root only)."""
    return [kind for kind in KINDS if kind != "disk-full" or can_fill_a_disk()]


class Injector:
    """Injects one fault every ``gap`` seconds (uniform in the range), cycling through ``kinds`` shuffled."""

    def __init__(
        self, cluster: Cluster, seed: int, kinds: Sequence[str] = KINDS, gap: tuple[float, float] = (0.3, 1.2)
    ) -> None:
        unknown = set(kinds) - set(KINDS)
        if unknown:
            raise ValueError(f"unknown fault kinds {sorted(unknown)}; choose from {', '.join(KINDS)}")
        self.cluster, self.gap = cluster, gap
        self.kinds = [kind for kind in kinds if kind not in MESSAGE_KINDS]
        self.rng = random.Random(seed ^ 0x5EED)
        self.attempted: Counter[str] = Counter()
        self.fired: Counter[str] = Counter()  # failpoints that killed the runtime
        self.covered = asyncio.Event()  # every kind was injected at least once

    async def run(self, stop: asyncio.Event, session: aiohttp.ClientSession) -> None:
        cycle: list[str] = []
        if not self.kinds:
            self.covered.set()
            await stop.wait()
            return
        while not stop.is_set():
            try:
                await asyncio.wait_for(stop.wait(), self.rng.uniform(*self.gap))
                return
            except TimeoutError:
                pass
            if not cycle:
                cycle = self.rng.sample(self.kinds, len(self.kinds))
            kind = cycle.pop()
            self.attempted[kind] += 1
            await self._inject(kind, session)
            if not cycle:
                self.covered.set()

    async def _inject(self, kind: str, session: aiohttp.ClientSession) -> None:
        cluster = self.cluster
        if kind in HTTP_KINDS:
            count = {"error": 4, "error-after": 3, "timeout": 1, "slow": 8}[kind]
            await self._arm(session, kind, self.rng.randint(1, count))
        elif kind in ("lock-held", "disk-full"):
            async with cluster.lock:  # no restart meanwhile: a runtime starting on a locked or full store would fail
                if kind == "lock-held":
                    await cluster.hold_write_lock(BUSY_TIMEOUT_S + self.rng.uniform(0.5, 2.0))
                else:
                    await cluster.fill_disk(self.rng.uniform(0.5, 3.0))
        elif kind == "server-kill":
            await cluster.kill_server()
            await asyncio.sleep(self.rng.uniform(0.05, 0.8))
            await cluster.start_server()
        else:
            async with cluster.lock:
                await cluster.kill_runtime()
                await asyncio.sleep(self.rng.uniform(0.0, 0.3))
                failpoint = None
                if kind.startswith("failpoint:"):
                    limit = 8 if kind.endswith("after-ingress-commit") else 30
                    failpoint = f"{kind.partition(':')[2]}:{self.rng.randint(1, limit)}"
                await cluster.start_runtime(failpoint)

    async def _arm(self, session: aiohttp.ClientSession, kind: str, count: int) -> None:
        url = f"http://127.0.0.1:{self.cluster.server_port}{CONTROL_PATH}"
        try:
            async with session.post(url, data=json.dumps({"kind": kind, "count": count})) as response:
                await response.read()
        except aiohttp.ClientError:
            pass  # the server is being restarted: this fault is skipped

    async def watch(self, stop: asyncio.Event) -> None:
        """Restart the runtime whenever it died on its own (a failpoint fired)."""
        cluster = self.cluster
        while not stop.is_set():
            await asyncio.sleep(0.02)
            async with cluster.lock:
                status = cluster.runtime_died()
                if status is None:
                    continue
                if status != -signal.SIGKILL or cluster.armed is None:
                    raise AssertionError(f"the runtime exited with status {status}; see {cluster.workdir}")
                self.fired[cluster.armed.partition(":")[0]] += 1
                await cluster.start_runtime(None)

    def served(self) -> Counter[str]:
        """HTTP faults the server actually answered with (armed ones lost to a server kill do not count)."""
        log = self.cluster.fault_log
        return Counter(log.read_text().split()) if log.exists() else Counter()
