"""The local runtime's failure policy: what a failed call says, how often its batch is tried again, and how
that is logged. One policy for ``run`` (functions over HTTP) and ``dev`` (in-process functions); the table
is in docs/troubleshooting.md ("The local runtime's failure policy").

Standard library only.
"""

from __future__ import annotations

import asyncio
import logging
import time
from enum import Enum

from statefun_faas.runtime.records import Address, Attempt

logger = logging.getLogger("statefun_faas.runtime")

FIRST_BACKOFF_S = 0.01
MAX_BACKOFF_S = 5.0
#: user code that raised is called this often in all (within the call timeout) before its batch is isolated
RAISED_ATTEMPTS = 3
#: under failureMode FAIL a failure that lasts is said again at most this often
STILL_FAILING_EVERY_S = 60.0


class Failure(Enum):
    """What a failed call says about the function, and so what becomes of its batch."""

    #: the function away or busy (no answer in time, no connection, 408, 409, 420, 429, 499, a 5xx but 500):
    #: retried with backoff until the call timeout is spent, then the batch is dead-lettered whole
    TRANSIENT = "transient"
    #: user code raised (HTTP 500, the SDKs' answer then; an exception in an in-process function): retried
    #: until RAISED_ATTEMPTS attempts, then isolated
    RAISED = "raised"
    #: any other 4xx, an answer too large, a protocol violation: not retried as it is, isolated
    REFUSED = "refused"
    #: the same for every message (a wrong Content-Type, a redirect, an unusable URL or TLS files): not
    #: retried, the batch is dead-lettered whole
    MISCONFIGURED = "misconfigured"

    @property
    def isolated(self) -> bool:
        """It may belong to one message of the batch: the batch is delivered again by halves."""
        return self in (Failure.RAISED, Failure.REFUSED)


class InvocationError(Exception):
    """A call to a function failed; ``failure`` says how. ``cause`` is what in-process user code raised: its
    traceback is logged once per batch, not once per attempt."""

    def __init__(self, reason: str, failure: Failure, cause: BaseException | None = None) -> None:
        super().__init__(reason)
        self.reason, self.failure, self.cause = reason, failure, cause


class LocalResourceError(InvocationError):
    """The runtime itself ran short (of file descriptors, socket buffers, memory) while calling a function:
    not the function's failure, so the call waits and tries again for as long as it lasts, and none of that
    counts toward the retries that end in a dead letter."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason, Failure.TRANSIENT)


def log_fields(address: Address, reason: str | None = None) -> dict[str, str]:
    """What a log line about ``address`` carries as fields of its own (``extra=``; ``--log-format json`` writes
    them): the address, its function type and, where there is one, the reason."""
    fields = {"address": str(address), "function_type": address.typename}
    if reason is not None:
        fields["reason"] = reason
    return fields


class Retries:
    """The attempts at one batch. Said in one line when its retries start and one when they end, not a line
    per retry: :meth:`succeeded` says the end, or, when they give up, the line saying what became of the batch
    (its dead letter or isolation), whose reason counts the attempts (:meth:`gave_up`). Under failureMode FAIL
    (``drop`` False: nothing gives up) also at most once every :data:`STILL_FAILING_EVERY_S` while they last.
    ``level`` is WARNING, DEBUG for the halves of an isolation (its own lines say what happens)."""

    def __init__(self, address: Address, size: int, call_timeout: float, drop: bool, level: int) -> None:
        self.address, self.size, self.call_timeout, self.drop, self.level = address, size, call_timeout, drop, level
        self.began = time.monotonic()
        self.failed = 0  # attempts that failed
        self.raised = 0  # of them, those in which user code raised
        self.spent = 0.0  # of the call timeout: the attempts that reached the function, and the waits after them
        self.wait = FIRST_BACKOFF_S
        self.said_at: float | None = None  # when the retries were last said
        self.requests: list[Attempt] = []  # every request, registration rounds included (the router adds them)

    def budget(self) -> float:
        """Seconds the next request may take: what failed attempts left of the call timeout (under failureMode
        FAIL the whole call timeout, every attempt)."""
        return max(self.call_timeout - self.spent if self.drop else self.call_timeout, 0.001)

    def again(self, error: InvocationError) -> bool:
        """Whether the batch is tried again after ``error`` (the attempt's time added to :attr:`spent`)."""
        self.failed += 1
        self.raised += error.failure is Failure.RAISED
        if self.drop and not self._allowed(error):
            return False
        now = time.monotonic()
        if self.said_at is None:
            logger.log(
                self.level,
                "%s: %s; %s",
                *(self.address, error.reason, self._plan(error)),
                exc_info=error.cause,
                extra=log_fields(self.address, error.reason),
            )
        elif not self.drop and now - self.said_at >= STILL_FAILING_EVERY_S:
            logger.log(
                self.level,
                "%s: still failing after %d attempts in %.0f s (failureMode FAIL): %s",
                *(self.address, self.failed, now - self.began, error.reason),
                extra={**log_fields(self.address, error.reason), "attempts": self.failed},
            )
        else:
            return True
        self.said_at = now
        return True

    def _allowed(self, error: InvocationError) -> bool:
        room = self.call_timeout - self.spent > self.wait  # time left for a real attempt after the wait
        if error.failure is Failure.TRANSIENT:
            return room
        return room and error.failure is Failure.RAISED and self.raised < RAISED_ATTEMPTS

    def _plan(self, error: InvocationError) -> str:
        size = f"{self.size} message(s)"
        if not self.drop:
            return f"failureMode FAIL: retrying {size} with backoff until they are applied"
        if error.failure is Failure.RAISED:
            return f"retrying {size}, {RAISED_ATTEMPTS} attempts at most"
        return f"retrying {size} with backoff within the call timeout of {self.call_timeout:g} s"

    async def pause(self) -> None:
        """The backoff before the next attempt: from FIRST_BACKOFF_S, doubling up to MAX_BACKOFF_S."""
        await asyncio.sleep(self.wait)
        self.spent += self.wait
        self.wait = min(self.wait * 2, MAX_BACKOFF_S)

    def succeeded(self) -> None:
        if self.said_at is not None:
            attempts, seconds = self.failed + 1, time.monotonic() - self.began
            logger.log(
                self.level,
                "%s: succeeded after %d attempts in %.1f s",
                *(self.address, attempts, seconds),
                extra={**log_fields(self.address), "attempts": attempts},
            )

    def gave_up(self, error: InvocationError) -> InvocationError:
        """The failure that ends the batch's attempts, its reason saying how many there were: the line that says
        what became of the batch (a dead letter, an isolation) ends what the retries' first line began."""
        if self.said_at is None:  # not retried: its dead letter or isolation says why
            if error.cause is not None:
                fields = log_fields(self.address, error.reason)
                logger.log(self.level, "%s: %s", self.address, error.reason, exc_info=error.cause, extra=fields)
            return error
        seconds = time.monotonic() - self.began
        return InvocationError(
            f"{error.reason} (gave up after {self.failed} attempts and {seconds:.1f} s)", error.failure
        )
