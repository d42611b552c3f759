"""The router: a durable queue per address, one request in flight per address, responses applied atomically.

Standard library and the protocol core only; invokers (in-process or HTTP) are handed in.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Protocol

from statefun_faas.functions import RESERVED_STATE_NAMES
from statefun_faas.runtime import failpoints
from statefun_faas.runtime.engine import protocol
from statefun_faas.runtime.engine.egress import EgressBinding
from statefun_faas.runtime.engine.failures import (
    FIRST_BACKOFF_S,
    Failure,
    InvocationError,
    LocalResourceError,
    Retries,
    log_fields,
)
from statefun_faas.runtime.engine.grouping import GroupCommit
from statefun_faas.runtime.engine.scheduler import Scheduler
from statefun_faas.runtime.engine.valve import Valve
from statefun_faas.runtime.records import (
    APPLIED,
    DEAD_LETTERED,
    ISOLATED,
    Address,
    Attempt,
    EgressRecord,
    Envelope,
    Invocation,
    ProtocolViolationError,
    Queued,
    Spec,
    Writes,
)
from statefun_faas.runtime.repeats import RepeatFilter
from statefun_faas.runtime.store.database import Store

logger = logging.getLogger("statefun_faas.runtime")
#: a local shortage repeats on every call of every address while it lasts: said once per interval
shortage_logger = logging.getLogger("statefun_faas.runtime.shortage")
shortage_logger.addFilter(RepeatFilter(10.0))
SHORTAGE = (
    "%s: the runtime ran short of a local resource (not the function's failure): %s; calls wait and try again, "
    "nothing is dead-lettered for it (raise the open-files limit, ulimit -n, or close connections)"
)

MAX_SHORTAGE_BACKOFF_S = 1.0  # a shortage may end any moment (a connection closes): look again soon
ISOLATING = "%s: isolating the failing message(s) of a batch of %d: %s; delivering it again by halves"


class Invoker(Protocol):
    async def __call__(self, address: Address, body: bytes, budget: float) -> bytes:
        """Send one ToFunction within ``budget`` seconds; raise InvocationError on failure."""


@dataclass(frozen=True)
class FunctionRoute:
    """How to reach one function type. ``drop``: failureMode DROP (the default), a batch that fails for good
    becomes dead letters; False for failureMode FAIL, its address retries it until it is applied. ``endpoint``
    names where the calls go, for the observers (credentials redacted)."""

    invoker: Invoker
    max_batch: int = 1000
    call_timeout: float = 60.0
    drop: bool = True
    endpoint: str = "in-process"


Routes = Callable[[str], FunctionRoute | None]
Egresses = Callable[[str], EgressBinding | None]
Sink = Callable[[EgressRecord], None]
#: sees every delivered batch once it is applied, dead-lettered or isolated (history, metrics); must be quick
Observer = Callable[[Invocation], None]
#: what an ingress hands its messages to (:meth:`Router.submit_grouped`); returns once they are committed
Ingest = Callable[[Sequence[Envelope]], Awaitable[None]]


@dataclass
class Counters:
    messages: int = 0
    batches: int = 0
    requests: int = 0
    retries: int = 0
    shortage_waits: int = 0  # calls put off because the runtime ran short of a local resource
    registrations: int = 0
    dead_letters: int = 0
    egress_records: int = 0
    delayed_fired: int = 0


class Router:
    """Delivers every stored message to its function and applies the responses. What one event-loop turn
    hands in, ingress messages (:meth:`submit_grouped`) and applied responses alike, is one group commit:
    :meth:`_commit_group` stores it in one transaction."""

    def __init__(
        self, store: Store, routes: Routes, egresses: Egresses, clock: Callable[[], float] = time.time
    ) -> None:
        self.store, self.routes, self.egresses, self.clock = store, routes, egresses, clock
        self.sinks: list[Sink] = []
        self.observers: list[Observer] = []
        #: each sees the seconds of every group commit's SQLite transaction (metrics)
        self.commit_observers: list[Callable[[float], None]] = []
        self.counters = Counters()
        self._specs: dict[str, dict[str, Spec]] = {}
        self.scheduler = Scheduler(self._drain)
        self._timer_wakeup: asyncio.Event | None = None
        self._group = GroupCommit[Envelope | Writes](self._commit_group)
        self.valve = Valve(lambda: store.pending, store.inbox_size)

    # -- entry points --------------------------------------------------------------------------------

    def submit(self, envelopes: Sequence[Envelope]) -> None:
        """Store messages (committed on return, so they may be acknowledged) and start delivering them."""
        self.store.enqueue(envelopes)
        failpoints.hit("after-ingress-commit")
        self.wake(envelope.target for envelope in envelopes)

    async def submit_grouped(self, envelopes: Sequence[Envelope]) -> None:
        """:meth:`submit` for concurrent ingress requests: one transaction per loop turn, shared with the
        responses applied in that turn; returns once committed. Waits first while the inboxes are full
        (see :mod:`valve`), so an ingress faster than the functions holds its clients back."""
        await self.valve.admit([envelope.target for envelope in envelopes])
        try:
            await self._group.add(envelopes)
        finally:
            self.valve.stored(len(envelopes))

    def _commit_group(self, items: list[Envelope | Writes]) -> None:
        """Store one loop turn's ingress messages and responses in one transaction, then deliver the messages."""
        envelopes = [item for item in items if isinstance(item, Envelope)]
        began = time.perf_counter()
        self.store.commit(envelopes, [item for item in items if isinstance(item, Writes)])
        if self.commit_observers:
            seconds = time.perf_counter() - began
            for observer in self.commit_observers:
                observer(seconds)
        if envelopes:
            failpoints.hit("after-ingress-commit")
            self.wake(envelope.target for envelope in envelopes)

    def wake(self, addresses: Iterable[Address]) -> None:
        self.scheduler.wake(addresses)

    def recover(self) -> None:
        """Start delivering whatever waits in the inboxes (after a restart or an outside change)."""
        self.wake(self.store.resync_inboxes())

    async def quiescent(self) -> None:
        """Wait until no address has messages in flight or waiting."""
        await self.scheduler.quiescent()

    def fire_due(self) -> int:
        """Deliver the delayed messages that are due now; returns how many there were."""
        targets = self.store.fire_due(self.clock())
        self.counters.delayed_fired += len(targets)
        self.wake(dict.fromkeys(targets))
        return len(targets)

    async def run_timer(self, poll_s: float = 1.0) -> None:
        """Fire delayed messages on time; runs until cancelled."""
        wakeup = self._timer_wakeup = asyncio.Event()
        while True:
            self.fire_due()
            next_at = self.store.next_fire_at()
            wait = poll_s if next_at is None else min(poll_s, max(0.0, next_at - self.clock()))
            wakeup.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wakeup.wait(), wait)

    async def close(self) -> None:
        await self.scheduler.close()

    # -- one address -------------------------------------------------------------------------------

    async def _drain(self, address: Address) -> None:
        """Deliver the address's inbox batch by batch; every new message for it wakes it (see Scheduler)."""
        scheduler = self.scheduler
        try:
            while True:
                route = self.routes(address.typename)
                limit = route.max_batch if route else 1000
                scheduler.take_rewoken(address)  # cleared before the read: a later wake means a later message
                batch = self.store.inbox(address, limit)
                if not batch:
                    return
                if route is None:
                    reason = f"no endpoint in module.yaml serves function type {address.typename}"
                    self._dead_letter(address, batch, reason)
                    if self.observers:
                        nowhere = Invocation(address, "", _seqs(batch), self.clock(), 0.0, (), DEAD_LETTERED, reason)
                        self._observe(nowhere)
                    continue
                await self._deliver(address, batch, route)
                if len(batch) < limit and not scheduler.take_rewoken(address):
                    return  # the read saw the whole inbox and nothing arrived since
        except Exception:  # its messages stay queued: delivered again after a backoff
            logger.exception("%s: delivery stopped by an internal error", address, extra=log_fields(address))
            scheduler.retry_later(address)

    async def _deliver(
        self, address: Address, batch: list[Queued], route: FunctionRoute, isolating: bool = False
    ) -> int:
        """Deliver one batch, tried again as the failure policy says (:mod:`failures`). A failure that may belong
        to one message (:attr:`Failure.isolated`) isolates it: the batch is delivered again by halves, in order,
        each half by halves again while it fails, so only the messages that fail become dead letters, each with
        its reason, and the others are applied once, each half with the state the halves before it left.
        Returns how many messages became dead letters."""
        started, sent_at = self.clock(), time.monotonic()
        retries = Retries(
            address, len(batch), route.call_timeout, route.drop, logging.DEBUG if isolating else logging.WARNING
        )
        outcome = await self._attempts(address, batch, route, retries)

        def observed(result: str, reason: str | None = None, writes: Writes | None = None) -> None:
            if self.observers:
                seconds = time.monotonic() - sent_at
                attempts = tuple(retries.requests)
                self._observe(
                    Invocation(
                        address, route.endpoint, _seqs(batch), started, seconds, attempts, result, reason, writes
                    )
                )

        if isinstance(outcome, Writes):
            failpoints.hit("before-apply")
            await self._group.add([outcome])
            self._applied(batch, outcome.messages, outcome.egress, bool(outcome.delayed))
            if batch[0].at:
                applied_at = time.monotonic()
                self.valve.observe(applied_at - batch[0].at, applied_at - sent_at)
            observed(APPLIED, writes=outcome)
            return 0
        if len(batch) == 1 or not outcome.failure.isolated:
            self._dead_letter(address, batch, outcome.reason)
            observed(DEAD_LETTERED, outcome.reason)
            return len(batch)
        observed(ISOLATED, outcome.reason)
        if not isolating:
            logger.warning(ISOLATING, address, len(batch), outcome.reason, extra=log_fields(address, outcome.reason))
        middle = len(batch) // 2
        dead = await self._deliver(address, batch[:middle], route, isolating=True)
        dead += await self._deliver(address, batch[middle:], route, isolating=True)
        if not isolating:
            logger.warning(
                "%s: isolation done: %d of %d message(s) dead-lettered, the others applied",
                *(address, dead, len(batch)),
                extra=log_fields(address),
            )
        return dead

    async def _attempts(
        self, address: Address, batch: list[Queued], route: FunctionRoute, retries: Retries
    ) -> Writes | InvocationError:
        """The batch's effects once an attempt succeeds, or the failure that ended its retries (never under
        failureMode FAIL)."""
        try:
            while True:
                try:
                    effects = await self._attempt(address, batch, route, retries)
                except InvocationError as error:
                    if not retries.again(error):
                        return retries.gave_up(error)
                else:
                    retries.succeeded()
                    return effects
                self.counters.retries += 1
                self.valve.park(address)  # its inbox waits for the retries: it holds back no other key's ingress
                await retries.pause()
        finally:
            self.valve.unpark(address)  # out of retry: its messages count again

    async def _attempt(self, address: Address, batch: list[Queued], route: FunctionRoute, retries: Retries) -> Writes:
        """One try: requests until the function has every state it names, then its answer checked and
        translated. Raises InvocationError, for a protocol violation too."""
        specs, rounds = self._specs_of(address.typename), protocol.IncompleteRounds(address.typename)
        try:
            while True:
                body = protocol.request(address, batch, specs, self.store.state(address, self.clock()))
                response = protocol.parse(await self._call(route, address, body, retries))
                missing = rounds.missing(response, specs)
                if missing is None:
                    return protocol.Translation(
                        address,
                        batch,
                        specs,
                        self.clock(),
                        self.egresses,
                        lambda t: self.store.token_pending(address, t),
                    ).translate(response)
                specs = self._register(address.typename, missing)
        except ProtocolViolationError as error:
            raise InvocationError(f"protocol violation: {error}", Failure.REFUSED) from None

    def _applied(
        self, batch: list[Queued], messages: list[Envelope], egress: list[EgressRecord], delayed: bool
    ) -> None:
        counters = self.counters
        counters.batches += 1
        counters.messages += len(batch)
        counters.egress_records += len(egress)
        for record in egress:
            for sink in self.sinks:
                sink(record)
        if messages:
            self.wake(envelope.target for envelope in messages)
        self.valve.changed()
        if delayed and self._timer_wakeup is not None:
            self._timer_wakeup.set()

    async def _call(self, route: FunctionRoute, address: Address, body: bytes, retries: Retries) -> bytes:
        """One request within what failed attempts left of the call timeout. A local shortage
        (LocalResourceError) is waited out: its attempts and waits use none of that budget."""
        wait = FIRST_BACKOFF_S
        while True:
            self.counters.requests += 1
            began, started = time.monotonic(), self.clock()
            try:  # the invoker keeps to the budget
                answer = await route.invoker(address, body, retries.budget())
            except LocalResourceError as failure:
                await self._wait_out_shortage(address, failure, wait)
                wait = min(wait * 2, MAX_SHORTAGE_BACKOFF_S)
            except InvocationError as failure:
                retries.spent += time.monotonic() - began
                retries.requests.append(Attempt(started, time.monotonic() - began, failure.reason))
                raise
            except ValueError as failure:  # e.g. a host name the HTTP client can not encode: no retry heals it
                reason = f"{type(failure).__name__}: {failure}"
                retries.requests.append(Attempt(started, time.monotonic() - began, reason))
                raise InvocationError(reason, Failure.MISCONFIGURED) from None
            else:
                retries.requests.append(Attempt(started, time.monotonic() - began))
                return answer

    async def _wait_out_shortage(self, address: Address, failure: LocalResourceError, wait: float) -> None:
        shortage_logger.warning(SHORTAGE, address, failure.reason, extra=log_fields(address, failure.reason))
        self.counters.shortage_waits += 1
        await asyncio.sleep(wait)

    def _specs_of(self, typename: str) -> dict[str, Spec]:
        specs = self._specs.get(typename)
        if specs is None:
            specs = self._specs[typename] = self.store.specs(typename)
        return specs

    def _register(self, typename: str, missing: list[Spec]) -> dict[str, Spec]:
        for spec in missing:
            if spec.name in RESERVED_STATE_NAMES:
                logger.warning(
                    "%s: state name %r is reserved by the Flink StateFun runtime; rename it",
                    *(typename, spec.name),
                    extra={"function_type": typename},
                )
        self.store.register(typename, missing)
        self.counters.registrations += len(missing)
        specs = self._specs[typename] = self.store.specs(typename)
        return specs

    def _observe(self, invocation: Invocation) -> None:
        for observer in self.observers:
            try:
                observer(invocation)
            except Exception:  # an observer never stops a delivery
                address = invocation.address
                logger.exception("%s: an observer of invocations failed", address, extra=log_fields(address))

    def _dead_letter(self, address: Address, batch: list[Queued], reason: str) -> None:
        fields = log_fields(address, reason)
        logger.error("%s: %d message(s) to the dead letters: %s", address, len(batch), reason, extra=fields)
        self.store.dead_letter(address, batch, reason, self.clock())
        self.counters.dead_letters += len(batch)
        self.valve.changed()


def _seqs(batch: list[Queued]) -> tuple[int, ...]:
    return tuple(queued.seq for queued in batch)
