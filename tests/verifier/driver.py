"""The driver: send the roots through the playground ingress while faults are injected, then verify.

Verdicts: every counter exact (an over-count fails at once, even mid-run), every root marker seen
exactly once when the root was acknowledged and at most once when its acknowledgement was lost,
every egress key of an applied root seen, no probe delivered after its cancellation was applied,
every poison message of an applied root one dead letter and never applied, no other dead letter (no
injected fault but poison is permanent).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp

from tests.verifier.cluster import Cluster, small_disk
from tests.verifier.commands import Generator, Params, Root, fill_bounds, totals
from tests.verifier.faults import HTTP_KINDS, KINDS, Injector
from tests.verifier.faulty import POISON_STATUS
from tests.verifier.interpreter import FUNCTION, POISON, TOPICS

JSON_COMMANDS = "application/vnd.verifier/commands"
#: share of the roots that send a poison message when the "poison" fault kind is on
POISON_SHARE = 0.02
#: what the runtime logs when its store refused a write (another writer held the lock, the disk was full)
STORE_ERRORS = {"lock-held": "database is locked", "disk-full": "database or disk is full"}


class VerificationError(AssertionError):
    pass


@dataclass
class Config:
    workdir: Path
    seed: int
    messages: int = 200  # roots sent through the ingress
    seconds: float = 10.0  # how long sending (and injecting) lasts
    ids: int = 32
    depth: int = 4
    batch: int = 100
    concurrency: int = 8
    faults: Sequence[str] = KINDS
    settle_s: float = 90.0  # how long verification may wait for stragglers


@dataclass
class Report:
    seed: int
    roots: int = 0
    acknowledged: int = 0
    unacknowledged: int = 0
    ingress_errors: int = 0  # 5xx answers of the ingress (its store refused the write): unacknowledged
    unacknowledged_applied: int = 0
    ingress_errors_applied: int = 0  # of those, roots applied all the same
    messages: int = 0  # function invocations of the applied roots (probes and confirmations not counted)
    increments: int = 0
    egress_keys: int = 0
    delayed: int = 0  # send-after messages (with commands) of the applied roots
    cancel_pairs: int = 0
    probes_confirmed: int = 0
    probes_delivered: int = 0
    lost: int = 0
    duplicated: int = 0
    over_counted: int = 0
    keys_missing: int = 0
    violations: list[str] = field(default_factory=list)
    poison: int = 0  # poison messages sent by the applied roots
    poison_dead_letters: int = 0  # their dead letters
    poison_applied: int = 0
    poison_missing: int = 0  # poison messages of applied roots that are no dead letter
    dead_letters: int = 0
    unexpected_dead_letters: int = 0  # any but one per poison message
    unexpected_examples: list[str] = field(default_factory=list)
    faults: dict[str, int] = field(default_factory=dict)
    runtime_starts: int = 0
    runtime_stop_status: int | None = None  # the exit status of the last runtime, stopped with SIGTERM
    seconds: float = 0.0

    def lines(self) -> list[str]:
        return [f"{name}: {value}" for name, value in vars(self).items()]


@dataclass
class Egress:
    """Everything popped from the egress topics."""

    keys: Counter[str] = field(default_factory=Counter)
    verify: list[dict[str, Any]] = field(default_factory=list)
    probes: list[str] = field(default_factory=list)
    violations: list[str] = field(default_factory=list)

    def add(self, topic: str, payload: str) -> None:
        if topic == "keys":
            self.keys[payload] += 1
        elif topic == "verify":
            self.verify.append(json.loads(payload))
        else:
            getattr(self, topic).append(payload)


class Driver:
    def __init__(self, config: Config) -> None:
        self.config = config
        poison = POISON_SHARE if "poison" in config.faults else 0.0
        params = Params(config.seed, ids=config.ids, depth=config.depth, poison=poison)
        self.roots = Generator(params).roots(config.messages)
        fill_bounds(self.roots)
        self.bound = totals(self.roots)
        disk = config.workdir / "disk" if "disk-full" in config.faults else None
        self.cluster = Cluster(config.workdir, batch=config.batch, disk=disk)
        self.injector = Injector(self.cluster, config.seed, config.faults)
        self.outcome: dict[int, str] = {}
        self.settled = {root.index: asyncio.Event() for root in self.roots}
        self.egress = Egress()
        self.report = Report(config.seed, roots=len(self.roots))

    async def run(self) -> Report:
        with small_disk(self.cluster.disk) if self.cluster.disk else contextlib.nullcontext():
            return await self._run()

    async def _run(self) -> Report:
        started = time.monotonic()
        stop = asyncio.Event()
        try:  # a runtime that fails to start still takes the function server down with it
            await self.cluster.start_server()
            await self.cluster.start_runtime()
            connector = aiohttp.TCPConnector(force_close=True)  # a new connection per request: no stale sockets
            async with aiohttp.ClientSession(connector=connector) as session:
                tasks = [
                    asyncio.create_task(self.injector.run(stop, session)),
                    asyncio.create_task(self.injector.watch(stop)),
                    asyncio.create_task(self._watch_verify(stop, session)),
                ]
                sending = asyncio.create_task(self._send_all(session))
                await _first_failure(sending, tasks)
                covered = asyncio.create_task(self.injector.covered.wait())
                await _first_failure(covered, tasks)  # every fault kind at least once, however short the run
                stop.set()
                await asyncio.gather(*tasks)
                await self._healthy()
                await self._verify(session)
        finally:
            self.report.runtime_stop_status = await self.cluster.stop()
        self.report.seconds = round(time.monotonic() - started, 1)
        return self.report

    # -- sending ----------------------------------------------------------------------------------

    async def _send_all(self, session: aiohttp.ClientSession) -> None:
        queue: asyncio.Queue[Root] = asyncio.Queue()
        for root in self.roots:
            queue.put_nowait(root)
        interval = self.config.seconds / max(len(self.roots), 1)
        start = time.monotonic()

        async def worker() -> None:
            while not queue.empty():
                root = queue.get_nowait()
                await asyncio.sleep(max(0.0, start + root.index * interval - time.monotonic()))
                if root.after is not None:
                    await self.settled[root.after].wait()
                self.outcome[root.index] = await self._send(session, root)
                self.settled[root.index].set()

        await asyncio.gather(*(worker() for _ in range(self.config.concurrency)))

    async def _send(self, session: aiohttp.ClientSession, root: Root) -> str:
        """``acked``; ``unacked`` when the request may or may not have been stored; ``error`` for a 5xx answer
        (maybe stored too: counted apart)."""
        url = f"http://127.0.0.1:{self.cluster.ingress_port}/{FUNCTION}/{root.target}"
        body = json.dumps(root.commands).encode()
        while True:
            try:
                timeout = aiohttp.ClientTimeout(total=15)
                # POST, not PUT: aiohttp silently resends an idempotent request once when the server hangs
                # up, which would turn "maybe stored" into a refused retry we would take for "not stored"
                async with session.post(url, data=body, headers={"Content-Type": JSON_COMMANDS}, timeout=timeout) as r:
                    await r.read()
                    if r.status >= 500:  # the runtime failed while storing it: maybe stored, never re-sent
                        return "error"
                    if r.status != 200:
                        raise VerificationError(f"the ingress answered {r.status} for root {root.index}")
                    return "acked"
            except aiohttp.ClientConnectorError:
                await asyncio.sleep(0.05)  # nothing listens (the runtime restarts): not stored, send again
            except (aiohttp.ClientError, TimeoutError):
                return "unacked"

    # -- egress -----------------------------------------------------------------------------------

    async def _pop(self, session: aiohttp.ClientSession, topic: str) -> list[str]:
        found: list[str] = []
        while True:
            try:
                async with session.get(f"http://127.0.0.1:{self.cluster.egress_port}/{topic}") as response:
                    body = await response.read()
                    if response.status != 200:
                        return found
                    found.append(body.decode())
            except aiohttp.ClientError:
                return found

    async def _watch_verify(self, stop: asyncio.Event, session: aiohttp.ClientSession) -> None:
        """Mid-run verify reports: fail at once when a counter passed what all roots together can reach."""
        while not stop.is_set():
            for payload in await self._pop(session, "verify"):
                self.egress.add("verify", payload)
                self._check_bounds()
            await asyncio.sleep(0.1)

    def _check_bounds(self) -> None:
        for report in self.egress.verify:
            if report["actual"] > report["bound"]:
                self.report.over_counted += 1
                raise VerificationError(
                    f"over-counted: id {report['id']} reached {report['actual']} > {report['bound']}"
                )

    # -- verifying --------------------------------------------------------------------------------

    async def _healthy(self) -> None:
        """After the faults: a server and an unarmed runtime, so verification runs undisturbed."""
        cluster = self.cluster
        if cluster.server is None or cluster.server.poll() is not None:
            await cluster.start_server()
        if cluster.armed is not None or cluster.runtime_died() is not None:
            if cluster.runtime_died() == -9 and cluster.armed is not None:
                self.injector.fired[cluster.armed.partition(":")[0]] += 1
            await cluster.kill_runtime()
            await cluster.start_runtime(None)

    async def _drain(self, session: aiohttp.ClientSession) -> None:
        for topic in TOPICS:
            for payload in await self._pop(session, topic):
                self.egress.add(topic, payload)
        self._check_bounds()

    async def _verify(self, session: aiohttp.ClientSession) -> None:
        deadline = time.monotonic() + self.config.settle_s
        round_ = 0
        while True:
            await self._drain(session)
            if self.cluster.pending() == (0, 0):
                await self._drain(session)
                applied = self._applied_roots()
                expected = totals(applied)
                round_ += 1
                mismatched = await self._final_round(session, round_, expected)
                if not mismatched and self.cluster.pending() == (0, 0):
                    self._conclude(applied)
                    return
                if mismatched and self._letters()[1]:  # short because something was dead-lettered: final
                    self._conclude(applied)
                    lines = "\n".join(self.report.lines())
                    raise VerificationError(f"counters of ids {mismatched} short, messages dead-lettered:\n{lines}")
            if time.monotonic() > deadline:
                self._conclude(self._applied_roots())
                raise VerificationError(f"counters still short after {self.config.settle_s} s: {self.report}")
            await asyncio.sleep(0.5)

    def _applied_roots(self) -> list[Root]:
        applied = []
        for root in self.roots:
            seen = self.egress.keys[root.marker]
            if seen > 1:
                self.report.duplicated += 1
                raise VerificationError(f"root {root.index} was applied {seen} times")
            for name in root.poison:
                if self.egress.keys[name]:
                    self.report.poison_applied += 1
                    raise VerificationError(f"poison message {name} was applied")
            if seen == 1:
                applied.append(root)
        return applied

    def _letters(self) -> tuple[Counter[str], list[str]]:
        """The dead letters of poison messages by name (at their target, with the function's rejection as
        the reason), and a description of every other one."""
        targets = {name: target for root in self.roots for name, target in root.poison.items()}
        of_poison: Counter[str] = Counter()
        others: list[str] = []
        for id_, arg, reason in self.cluster.dead_letters():
            name = _poison_name(arg)
            if name in targets and id_ == str(targets[name]) and f"HTTP {POISON_STATUS}" in reason:
                of_poison[name] += 1
            else:
                others.append(f"id {id_} {arg[:60]!r}: {reason}")
        return of_poison, others

    async def _final_round(self, session: aiohttp.ClientSession, round_: int, expected: Counter[int]) -> list[int]:
        """Ask every id for its counter; the ids whose counter is still short."""
        url = f"http://127.0.0.1:{self.cluster.ingress_port}/{FUNCTION}"
        for id_ in range(self.config.ids):
            body = json.dumps([["v", expected[id_], round_]]).encode()
            async with session.post(f"{url}/{id_}", data=body, headers={"Content-Type": JSON_COMMANDS}) as r:
                assert r.status == 200, f"the ingress answered {r.status} to a verify message"
        answers: dict[str, int] = {}
        for _ in range(400):
            await self._drain(session)
            answers = {v["id"]: v["actual"] for v in self.egress.verify if v.get("round") == round_}
            if len(answers) == self.config.ids:
                break
            await asyncio.sleep(0.05)
        return [id_ for id_ in range(self.config.ids) if answers.get(str(id_)) != expected[id_]]

    def _conclude(self, applied: list[Root]) -> None:
        report, egress = self.report, self.egress
        acked = {index for index, outcome in self.outcome.items() if outcome == "acked"}
        report.acknowledged = len(acked)
        report.unacknowledged = len(self.outcome) - len(acked)
        applied_indexes = {root.index for root in applied}
        report.unacknowledged_applied = len(applied_indexes - acked)
        errors = {index for index, outcome in self.outcome.items() if outcome == "error"}
        report.ingress_errors, report.ingress_errors_applied = len(errors), len(errors & applied_indexes)
        report.lost = len(acked - applied_indexes)
        report.messages = sum(root.messages for root in applied)
        report.increments = sum(sum(root.increments.values()) for root in applied)
        keys = [key for root in applied for key in root.keys]
        report.egress_keys = len(keys)
        report.keys_missing = sum(1 for key in keys if egress.keys[key] == 0)
        report.duplicated += sum(1 for key in keys if egress.keys[key] > 1)
        commands = [command for root in applied for command in _walk(root.commands)]
        report.delayed = sum(1 for command in commands if command[0] == "a")
        report.cancel_pairs = sum(1 for command in commands if command[0] == "c")
        report.probes_confirmed = sum(1 for p in egress.probes if p.startswith("confirmed:"))
        report.probes_delivered = sum(1 for p in egress.probes if p.startswith("delivered:"))
        report.violations = list(egress.violations)
        self._conclude_letters(applied)
        served = self.injector.served()
        faults: dict[str, int] = {kind: served[kind] for kind in HTTP_KINDS}
        attempted = self.injector.attempted
        faults["server-kill"] = attempted["server-kill"]
        # every failpoint is armed by a kill -9 at a random moment and a restart with the failpoint set
        faults["runtime-kill"] = attempted["runtime-kill"] + sum(n for k, n in attempted.items() if ":" in k)
        for point in ("after-ingress-commit", "before-apply"):
            faults[f"failpoint {point} armed"] = attempted[f"failpoint:{point}"]
            faults[f"failpoint {point} fired"] = self.injector.fired[point]
        for kind, error in STORE_ERRORS.items():
            faults[kind] = attempted[kind]
            faults[f"{kind}: runtime log lines '{error}'"] = self.cluster.runtime_log_lines(error)
        faults["poison requests rejected"] = served["poison"]
        report.faults = faults
        report.runtime_starts = self.cluster.starts

    def _conclude_letters(self, applied: list[Root]) -> None:
        """Each poison message an applied root sent is one dead letter; nothing else is."""
        report = self.report
        of_poison, others = self._letters()
        sent = {name for root in applied for name in root.poison}
        report.poison = len(sent)
        report.poison_dead_letters = sum(of_poison.values())
        report.poison_missing = sum(1 for name in sent if not of_poison[name])
        wrong = [f"poison {name} dead-lettered {n} times" for name, n in of_poison.items() if n != (name in sent)]
        report.dead_letters = report.poison_dead_letters + len(others)
        report.unexpected_dead_letters = len(others) + len(wrong)
        report.unexpected_examples = (wrong + others)[:5]


def _poison_name(argument: bytes) -> str | None:
    """The name of a poison message (its first command is ``["poison", name]``), else None."""
    try:
        first = json.loads(argument)[0]
    except (ValueError, TypeError, IndexError, KeyError):
        return None
    return str(first[1]) if isinstance(first, list) and first[:1] == [POISON] and len(first) > 1 else None


def _walk(commands: list[Any]) -> list[list[Any]]:
    found = []
    for command in commands:
        found.append(command)
        if command[0] == "s":
            found.extend(_walk(command[2]))
        elif command[0] == "a":
            found.extend(_walk(command[3]))
    return found


async def _first_failure(main: asyncio.Task[Any], others: list[asyncio.Task[None]]) -> None:
    """Wait for ``main``; when any other task fails first, cancel everything and raise its error."""
    done, _ = await asyncio.wait([main, *others], return_when=asyncio.FIRST_COMPLETED)
    while main not in done:
        for task in done:
            if task.exception() is not None:
                main.cancel()
                for other in others:
                    other.cancel()
                raise task.exception()  # type: ignore[misc]
        done, _ = await asyncio.wait([main, *[t for t in others if not t.done()]], return_when=asyncio.FIRST_COMPLETED)
    main.result()


def check(report: Report) -> None:
    """Raise VerificationError unless the report shows exactly-once behaviour."""
    problems = []
    verdicts = ("lost", "duplicated", "over_counted", "keys_missing", "poison_applied", "poison_missing")
    for name in (*verdicts, "unexpected_dead_letters"):
        if getattr(report, name):
            problems.append(f"{name} {getattr(report, name)}")
    if report.runtime_stop_status != 0:
        problems.append(f"the runtime's graceful stop exited {report.runtime_stop_status}")
    if report.violations:
        problems.append(f"cancellation violations {report.violations}")
    if problems:
        raise VerificationError("; ".join(problems) + "\n" + "\n".join(report.lines()))
