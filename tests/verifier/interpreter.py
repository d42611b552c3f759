"""The function under test: ``verifier/fn`` interprets command lists (see :mod:`tests.verifier.commands`).

State ``count`` is the counter; state ``tokens`` remembers, per cancellation token sent from this
address, when the probe was sent, its delay, and whether a cancellation was *confirmed before the
probe was due*. Confirmation works without trusting any clock ordering inside one batch: cancelling
sends this address a ``["k", token]`` message, which is stored in the same transaction as the
cancellation, so when it is handled the cancellation is committed; if that is still before
``sent + delay`` (and the runtime fires no earlier than that), the delayed row was deleted before it
could fire, and a probe arriving later is a cancelled message delivered after its cancellation.
"""

from __future__ import annotations

import json
import time
from datetime import timedelta
from typing import Any

from statefun_faas import (
    Context,
    LongType,
    Message,
    StatefulFunctions,
    ValueSpec,
    egress_message_builder,
    make_json_type,
    message_builder,
)

FUNCTION = "verifier/fn"
EGRESS = "io.statefun.playground/egress"
TOPICS = ("keys", "verify", "probes", "violations")
CommandsType = make_json_type("verifier/commands")
TokensType = make_json_type("verifier/tokens")
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")
#: the first command of a poison message, which the function server rejects (see faulty.POISON_JSON)
POISON = "poison"

functions = StatefulFunctions()


def emit(context: Context, topic: str, payload: Any) -> None:
    text = payload if isinstance(payload, str) else json.dumps(payload)
    context.send_egress(egress_message_builder(EGRESS, {"topic": topic, "payload": text}, EgressRecordType))


def commands_message(target: int | str, commands: list[Any]) -> Message:
    return message_builder(FUNCTION, str(target), value=commands, value_type=CommandsType)


@functions.bind(FUNCTION, specs=[ValueSpec("count", LongType), ValueSpec("tokens", TokensType)])
def interpret(context: Context, message: Message) -> None:
    tokens: dict[str, dict[str, Any]] = context.storage.tokens or {}
    changed = False
    created: set[str] = set()  # tokens whose probe this message sent: a cancel here makes them undeliverable
    for command in message.as_type(CommandsType) or []:
        changed = _run(context, command, tokens, created) or changed
    if changed:
        context.storage.tokens = tokens


def _run(context: Context, command: list[Any], tokens: dict[str, dict[str, Any]], created: set[str]) -> bool:
    """One command; True when it changed ``tokens``."""
    kind = command[0]
    if kind == "i":
        context.storage.count = (context.storage.count or 0) + 1
    elif kind == "s":
        context.send(commands_message(command[1], command[2]))
    elif kind == "a":
        context.send_after(timedelta(milliseconds=command[2]), commands_message(command[1], command[3]))
    elif kind == "p":  # a message the function server rejects (its first command is ["poison", name])
        context.send(commands_message(command[1], [[POISON, command[2]], *command[3]]))
    elif kind == "e":
        emit(context, "keys", command[1])
    elif kind == "v":
        report = {"id": context.address.id, "actual": context.storage.count or 0, "bound": command[1]}
        if len(command) > 2:
            report["round"] = command[2]  # the driver's final rounds
        emit(context, "verify", report)
    elif kind in ("t", "c", "k", "x"):
        _token_command(context, command, tokens, created)
        return True
    return False


def _token_command(context: Context, command: list[Any], tokens: dict[str, dict[str, Any]], created: set[str]) -> None:
    kind, token = command[0], command[1]
    now = time.time()
    entry = tokens.get(token)
    if kind == "t":  # a probe to this very address, cancellable
        tokens[token] = {"sent": now, "delay": command[2] / 1000.0, "confirmed": False, "delivered": False}
        created.add(token)
        probe = commands_message(context.address.id, [["x", token]])
        context.send_after(timedelta(milliseconds=command[2]), probe, token)
    elif kind == "c":
        context.cancel_delayed_message(token)
        context.send(commands_message(context.address.id, [["k", token]]))
        if entry is not None and token in created:  # cancelled in the answer that sent it
            entry["confirmed"] = True
    elif kind == "k" and entry is not None:  # the cancellation is committed by now
        if not entry["delivered"] and now < entry["sent"] + entry["delay"]:
            entry["confirmed"] = True
            emit(context, "probes", f"confirmed:{token}")
    elif kind == "x" and entry is not None:  # the probe arrived
        entry["delivered"] = True
        if entry["confirmed"]:
            emit(context, "violations", f"probe {token} delivered after its cancellation was applied")
        emit(context, "probes", f"delivered:{token}")
