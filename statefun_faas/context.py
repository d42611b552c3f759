"""What a function sees while it handles a message: its address, caller, state and outbox."""

from __future__ import annotations

from datetime import timedelta
from typing import Any, NamedTuple

from statefun_faas.errors import ConfigurationError
from statefun_faas.messages import EgressMessage, Message
from statefun_faas.storage import AddressStorage


class SdkAddress(NamedTuple):
    """The address of a function instance: ``typename`` is ``namespace/name``. Immutable.

    (A named tuple rather than the reference's frozen dataclass: dataclasses cost more to
    import than the whole core, and a tuple is several times cheaper to build per message.)
    """

    namespace: str
    name: str
    id: str
    typename: str


class DelayedMessage:
    """A ``send_after`` (``message`` set) or a cancellation (``message`` None) in call order."""

    __slots__ = ("delay_ms", "message", "cancellation_token")

    def __init__(self, delay_ms: int, message: Message | None, cancellation_token: str) -> None:
        self.delay_ms = delay_ms
        self.message = message
        self.cancellation_token = cancellation_token


class Context:
    """The context of one batch: shared by every message of the batch, in order."""

    # Plain attributes rather than the reference's read-only properties: functions read
    # them several times per message.
    __slots__ = ("address", "caller", "delayed", "egress", "outgoing", "storage")

    def __init__(self, address: SdkAddress, storage: AddressStorage) -> None:
        #: the address of the function being invoked
        self.address = address
        #: the address-scoped state: ``context.storage.<state name>``
        self.storage: Any = storage
        #: the address of the sender, ``None`` when the message came from an ingress
        self.caller: SdkAddress | None = None
        self.outgoing: list[Message] = []
        self.delayed: list[DelayedMessage] = []
        self.egress: list[EgressMessage] = []

    def send(self, message: Message) -> None:
        """Send ``message`` to another function (or this one)."""
        if not isinstance(message, Message):
            raise TypeError(f"send() takes a Message (see message_builder), got {type(message).__name__}")
        self.outgoing.append(message)

    def send_after(self, duration: timedelta, message: Message, cancellation_token: str = "") -> None:
        """Send ``message`` after ``duration``; a non-empty token lets it be cancelled."""
        if not isinstance(message, Message):
            raise TypeError(f"send_after() takes a Message (see message_builder), got {type(message).__name__}")
        if not isinstance(duration, timedelta):
            raise TypeError(f"send_after() takes a datetime.timedelta, got {duration!r}")
        if duration < timedelta(0):
            raise ConfigurationError(f"send_after() delay must not be negative, got {duration}")
        if cancellation_token is None:
            cancellation_token = ""
        self.delayed.append(DelayedMessage(int(duration.total_seconds() * 1000.0), message, cancellation_token))

    def cancel_delayed_message(self, cancellation_token: str) -> None:
        """Cancel the delayed message sent with ``cancellation_token`` (best effort)."""
        if not cancellation_token:
            raise ConfigurationError("cancel_delayed_message() needs the non-empty token given to send_after()")
        self.delayed.append(DelayedMessage(0, None, cancellation_token))

    def send_egress(self, message: EgressMessage) -> None:
        """Send a record to an egress (see kafka_egress_message, egress_message_builder)."""
        if not isinstance(message, EgressMessage):
            raise TypeError(f"send_egress() takes an EgressMessage, got {type(message).__name__}")
        self.egress.append(message)
