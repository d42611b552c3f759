"""The runtime's plain records: addresses, queued messages, registered state specs.

Standard library only, so the in-memory tester can use the router without the ``[runtime]`` extra.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import NamedTuple

NO_EXPIRY, AFTER_WRITE, AFTER_INVOKE = 0, 1, 2


class ProtocolViolationError(Exception):
    """A function's response breaks the StateFun protocol; its batch is dead-lettered, never applied."""


class Address(NamedTuple):
    """One function instance: its function type (``namespace/name``) and its id (a tuple: hashing it, as
    every inbox, mirror and scheduler lookup does, costs no Python call)."""

    typename: str
    id: str

    def __str__(self) -> str:
        return f"{self.typename}/{self.id}"

    @classmethod
    def parse(cls, text: str) -> Address:
        """``namespace/type/id``; the id may itself contain ``/``."""
        parts = text.split("/", 2)
        if len(parts) != 3 or not all(parts):
            raise ValueError(f"invalid address {text!r}: expected NAMESPACE/TYPE/ID, e.g. example/greeter/bob")
        return cls(f"{parts[0]}/{parts[1]}", parts[2])


@dataclass(frozen=True, slots=True)
class Value:
    """A TypedValue as the store keeps it: ``data`` is None when the value is absent. ``extra``: the wire bytes
    of any other fields it carried (a StateFun fork's metadata), kept so that a message passes on whole."""

    typename: str
    data: bytes | None
    extra: bytes = b""


@dataclass(frozen=True, slots=True)
class Envelope:
    """A message on its way to ``target``; ``caller`` is None for ingress messages."""

    target: Address
    argument: Value
    caller: Address | None = None


@dataclass(frozen=True, slots=True)
class Queued:
    """A message waiting in an address's inbox; ``seq`` orders it and identifies its row."""

    seq: int
    caller: Address | None
    argument: Value
    #: when it was stored, time.monotonic() of this process (0.0 when read back from SQLite)
    at: float = field(default=0.0, compare=False)


@dataclass(frozen=True, slots=True)
class Spec:
    """A state registered for a function type after an IncompleteInvocationContext."""

    name: str
    typename: str
    expire_mode: int = NO_EXPIRY
    expire_ms: int = 0

    def expires_at(self, now: float) -> float | None:
        if self.expire_mode == NO_EXPIRY:
            return None
        return now + self.expire_ms / 1000.0


@dataclass(frozen=True, slots=True)
class DelayedEnvelope:
    """A delayed message to store: fired at ``fire_at`` (epoch seconds) unless cancelled by token."""

    fire_at: float
    sender: Address
    token: str
    envelope: Envelope


@dataclass(frozen=True, slots=True)
class EgressRecord:
    """One record for an egress: ``topic`` is empty for egresses without topics."""

    egress_id: str
    topic: str
    typename: str
    payload: bytes


@dataclass(frozen=True, slots=True)
class Mutation:
    """MODIFY (``data`` set) or DELETE (``data`` None) of one registered state."""

    name: str
    data: bytes | None
    typename: str
    expires_at: float | None = None


@dataclass(slots=True)
class Writes:
    """Everything one function response writes, applied in one transaction by the store."""

    address: Address
    done: list[int]
    mutations: list[Mutation]
    messages: list[Envelope]
    delayed: list[DelayedEnvelope]
    cancelled: list[str]
    egress: list[EgressRecord]
    touched: list[tuple[str, float]]  # AFTER_INVOKE states unexpired at ``now``: their new expiry time
    now: float = 0.0  # when the batch was invoked (epoch seconds)


@dataclass(frozen=True, slots=True)
class DeadLetter:
    """A message that could not be delivered, with the reason."""

    seq: int
    envelope: Envelope
    reason: str
    at: float


@dataclass(frozen=True, slots=True)
class Attempt:
    """One request of a delivery: when it started (epoch seconds), how long it took, and why it failed
    (None: the function answered)."""

    started: float
    seconds: float
    error: str | None = None


#: what became of a delivered batch: its effects applied, its messages dead-lettered, or delivered again by
#: halves (each half is an Invocation of its own)
APPLIED, DEAD_LETTERED, ISOLATED = "applied", "dead-lettered", "isolated"


@dataclass(frozen=True, slots=True)
class Invocation:
    """One batch delivered to a function, as the router's observers see it (history, metrics): where it went,
    the inbox seqs of its messages, every request it took, and what became of it."""

    address: Address
    endpoint: str  # the endpoint's URL (credentials redacted), "in-process", or "" when no endpoint serves it
    seqs: tuple[int, ...]
    started: float  # epoch seconds
    seconds: float  # the whole delivery: requests and the waits between them
    attempts: tuple[Attempt, ...]
    outcome: str  # APPLIED, DEAD_LETTERED or ISOLATED
    reason: str | None = None  # why it was dead-lettered or isolated
    writes: Writes | None = None  # the effects applied (outcome APPLIED)
