"""A small application for the history and view tests: the real router on a real state folder, functions
in-process, the invocation history observing it.

``test/orders`` counts its messages (state ``count``), keeps the last one (``last``; "forget" deletes it),
tells ``test/audit`` of the same id, sets a reminder to itself an hour later (token ``remind-<count>``;
"cancel" cancels the one before instead) and writes the message to the playground egress (topic ``orders``);
"poison" raises. Nothing serves ``test/nowhere``.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import timedelta
from pathlib import Path

from statefun_faas import Context, IntType, Message, StatefulFunctions, StringType, ValueSpec, message_builder
from statefun_faas.runtime.engine.egress import PlaygroundEgress
from statefun_faas.runtime.engine.router import FunctionRoute, Router
from statefun_faas.runtime.invoke.inprocess import InProcessInvoker
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.runtime.store.database import Store
from statefun_faas.runtime.store.history import DEFAULT_KEEP, History
from tests.runtime.apps import emit, text
from tests.runtime.stores import opened

shop = StatefulFunctions()
POISON = "poison"
REMINDER = timedelta(hours=1)


@shop.bind("test/orders", specs=[ValueSpec("count", IntType), ValueSpec("last", StringType)])
def orders(context: Context, message: Message) -> None:
    body = text(message)
    if body == POISON:
        raise RuntimeError("poison")
    count = context.storage.count = (context.storage.count or 0) + 1
    if body == "forget":
        del context.storage.last
    else:
        context.storage.last = body
    context.send(message_builder("test/audit", context.address.id, str_value=body))
    if body == "cancel":
        context.cancel_delayed_message(f"remind-{count - 1}")
    elif body != "remind":
        reminder = message_builder("test/orders", context.address.id, str_value="remind")
        context.send_after(REMINDER, reminder, f"remind-{count}")
    emit(context, "orders", body)


@shop.bind("test/audit", specs=[ValueSpec("seen", IntType)])
def audit(context: Context, message: Message) -> None:
    context.storage.seen = (context.storage.seen or 0) + 1


INVOKER = InProcessInvoker(shop)
ROUTES = {typename: FunctionRoute(INVOKER, endpoint="in-process") for typename in shop.typenames}


def order(id_: str, body: str, typename: str = "test/orders") -> Envelope:
    return Envelope(Address(typename, id_), Value("test/text", body.encode()))


class Shop:
    """The store of a state folder, a router on it, the history observing the router (``keep`` None: none)."""

    def __init__(self, folder: Path, keep: int | None = DEFAULT_KEEP) -> None:
        self.store = opened(Store.in_directory(folder))
        self.history = None if keep is None else History(self.store, keep)

    def deliver(self, *batches: Sequence[Envelope], write: bool = True) -> Router:
        """Each batch submitted once the one before is delivered, by a router of its own; the history written
        at the end (``write``)."""
        router = Router(self.store, ROUTES.get, lambda _: PlaygroundEgress(None))
        if self.history is not None:
            router.observers.append(self.history.observe)

        async def go() -> None:
            for batch in batches:
                router.submit(batch)
                await router.quiescent()
            await router.close()

        asyncio.run(go())
        if self.history is not None and write:
            self.history.flush()
        return router
