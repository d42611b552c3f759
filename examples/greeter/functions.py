"""The StateFun greeter: a person's visits are counted, the greeter answers "Hello there NAME at the Nth time!".

``example/person`` keeps the ``visits`` of each person (its id) and asks ``example/greeter`` for a
greeting; the greeter writes it to the playground egress topic ``greetings`` and replies to its caller.
"""

from __future__ import annotations

from typing import Any

from statefun_faas import (
    Context,
    IntType,
    Message,
    StatefulFunctions,
    StringType,
    ValueSpec,
    egress_message_builder,
    make_json_type,
    message_builder,
)

GreetRequestType = make_json_type("example/GreetRequest")
UserProfileType = make_json_type("example/UserProfile")
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")

functions = StatefulFunctions()


def ordinal(n: int) -> str:
    """1st 2nd 3rd 4th ... 11th 12th 13th ... 21st 22nd ... 111th."""
    if n % 100 in (11, 12, 13):
        return f"{n}th"
    return f"{n}{ {1: 'st', 2: 'nd', 3: 'rd'}.get(n % 10, 'th') }"


@functions.bind("example/person", specs=[ValueSpec("visits", IntType), ValueSpec("last_greeting", StringType)])
def person(context: Context, message: Message) -> None:
    if message.is_type(GreetRequestType):
        request: dict[str, str] = message.as_type(GreetRequestType) or {}
        visits = (context.storage.visits or 0) + 1
        context.storage.visits = visits
        profile = {"name": request["name"], "visits": visits}
        context.send(message_builder("example/greeter", request["name"], value=profile, value_type=UserProfileType))
    elif message.is_string():  # the greeter's reply
        context.storage.last_greeting = message.as_string()


@functions.bind("example/greeter")
def greeter(context: Context, message: Message) -> None:
    profile: dict[str, Any] = message.as_type(UserProfileType) or {}
    greeting = f"Hello there {profile['name']} at the {ordinal(profile['visits'])} time!"
    record = {"topic": "greetings", "payload": greeting}
    context.send_egress(egress_message_builder("io.statefun.playground/egress", record, EgressRecordType))
    caller = context.caller
    if caller is not None:
        context.send(message_builder(caller.typename, caller.id, str_value=greeting))
