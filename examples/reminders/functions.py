"""Reminders: delayed messages with cancellation tokens (schedule, cancel, reschedule).

``reminders/user`` (id: the user) takes commands, JSON ``reminders/Command``::

    {"action": "schedule", "name": "tea", "text": "Tea is ready", "seconds": 2.5}
    {"action": "cancel", "name": "tea"}

Scheduling sends the user a ``reminders/Due`` message with ``context.send_after``, under a
cancellation token of its own; scheduling a name again reschedules it (cancel, then send
anew). When a reminder is due, a record leaves through an egress with the times it was due
and sent: the playground egress locally (``functions``, module.yaml) or a Kinesis stream
(``production``, module.prod.yaml).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from functools import partial
from typing import Any

from statefun_faas import (
    Context,
    EgressMessage,
    IntType,
    Message,
    StatefulFunctions,
    ValueSpec,
    egress_message_builder,
    kinesis_egress_message,
    make_json_type,
    message_builder,
)

CommandType = make_json_type("reminders/Command")
DueType = make_json_type("reminders/Due")  # {"name": "tea", "token": "tea#3"}
PendingType = make_json_type("reminders/Pending")  # {"tea": {"token": "tea#3", "text": ..., "due_at": ...}}
ReminderType = make_json_type("reminders/Reminder")  # the egress record's payload
EgressRecordType = make_json_type("io.statefun.playground/EgressRecord")

ReminderEgress = Callable[[dict[str, Any]], EgressMessage]


def user(context: Context, message: Message, *, reminder_egress: ReminderEgress) -> None:
    pending: dict[str, Any] = context.storage.pending or {}
    if message.is_type(CommandType):
        command: dict[str, Any] = message.as_type(CommandType) or {}
        if command["name"] in pending:  # cancel the pending one, also when rescheduling
            context.cancel_delayed_message(pending.pop(command["name"])["token"])
        if command["action"] == "schedule":
            pending[command["name"]] = schedule(context, command)
    elif message.is_type(DueType):
        due: dict[str, Any] = message.as_type(DueType) or {}
        reminder = pending.get(due["name"])
        # A cancellation is best effort: a reminder may already be on its way when it is cancelled.
        if reminder is not None and reminder["token"] == due["token"]:
            del pending[due["name"]]
            record = {"user": context.address.id, "name": due["name"], "text": reminder["text"]}
            context.send_egress(reminder_egress({**record, "due_at": reminder["due_at"], "sent_at": time.time()}))
    context.storage.pending = pending


def schedule(context: Context, command: dict[str, Any]) -> dict[str, Any]:
    """Send the user a Due message after ``seconds``, under a token no other reminder of theirs has."""
    context.storage.scheduled = (context.storage.scheduled or 0) + 1
    token = f"{command['name']}#{context.storage.scheduled}"
    me = context.address
    due = message_builder(me.typename, me.id, value={"name": command["name"], "token": token}, value_type=DueType)
    context.send_after(timedelta(seconds=command["seconds"]), due, cancellation_token=token)
    return {"token": token, "text": command["text"], "due_at": time.time() + command["seconds"]}


def playground_reminder(reminder: dict[str, Any]) -> EgressMessage:
    """A reminder for the playground egress of module.yaml: topic ``reminders``."""
    record = {"topic": "reminders", "payload": ReminderType.serializer().serialize(reminder).decode()}
    return egress_message_builder("io.statefun.playground/egress", record, EgressRecordType)


def kinesis_reminder(reminder: dict[str, Any]) -> EgressMessage:
    """A reminder for the Kinesis egress ``reminders/out`` of module.prod.yaml: stream ``reminders``."""
    return kinesis_egress_message("reminders/out", "reminders", reminder, reminder["user"], ReminderType)


def reminders(reminder_egress: ReminderEgress) -> StatefulFunctions:
    functions = StatefulFunctions()
    specs = [ValueSpec("pending", PendingType), ValueSpec("scheduled", IntType)]
    functions.register("reminders/user", partial(user, reminder_egress=reminder_egress), specs)
    return functions


functions = reminders(playground_reminder)  # with module.yaml (playground ingress and egress)
production = reminders(kinesis_reminder)  # with module.prod.yaml (Kinesis ingress and egress)
