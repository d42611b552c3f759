"""The runtime benchmark's greeter-like function: counts visits, writes the message to egress topic ``out``."""

from __future__ import annotations

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec, make_json_type
from statefun_faas.adapters.asgi import asgi_app
from statefun_faas.messages import EgressMessage
from statefun_faas.types import to_typed_value

EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")
functions = StatefulFunctions()


@functions.bind("bench/greeter", specs=[ValueSpec("visits", IntType)])
def greeter(context: Context, message: Message) -> None:
    context.storage.visits = (context.storage.visits or 0) + 1
    record = {"topic": "out", "payload": (message.raw_value() or b"").decode()}
    context.send_egress(EgressMessage("io.statefun.playground/egress", to_typed_value(EgressRecordType, record)))


app = asgi_app(functions)
