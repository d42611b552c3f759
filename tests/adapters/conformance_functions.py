"""The registry that answers the conformance requests (tests/adapters/conformance.py).

A module of its own that imports only statefun_faas, so a deployment package can carry it as
the user's module (tests/deploy/test_package_platforms.py).
"""

from __future__ import annotations

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec, message_builder


def make_functions() -> StatefulFunctions:
    functions = StatefulFunctions()

    @functions.bind("conformance/counter", specs=[ValueSpec("count", IntType)])
    def counter(context: Context, message: Message) -> None:
        context.storage.count = (context.storage.count or 0) + (message.as_int() or 0)
        if context.caller is not None:
            context.send(message_builder(context.caller.typename, context.caller.id, int_value=context.storage.count))

    @functions.bind("conformance/fails")
    def fails(context: Context, message: Message) -> None:
        raise RuntimeError("user code failed on purpose")

    return functions


functions = make_functions()
