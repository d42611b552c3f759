"""The commands that look into a state folder, beside a running runtime or not: ``addresses``, ``inbox``,
``delayed`` and ``trace`` (the views of statefun_faas.runtime.store.views, printed for people).

Standard library and the core only, so they work with the base install, without the ``[runtime]`` extra.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sys
from collections.abc import Callable, Iterator, Sequence
from datetime import datetime

from statefun_faas.cli.client import open_store, store_errors
from statefun_faas.cli.values import decode
from statefun_faas.runtime.records import Address, Value
from statefun_faas.runtime.store import views

#: characters of a value a listing shows; the rest is cut
SHOWN = 120


class _ArgumentError(Exception):
    """A command line argument that is no good, said in one line (exit code 2)."""


def _command(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """A view command: a mistaken argument or an unusable state file is one line, exit code 2 or 1."""

    @functools.wraps(command)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except _ArgumentError as mistake:
            print(f"statefun-faas {command.__name__}: {mistake}", file=sys.stderr)
            return 2

    return store_errors(guarded)


@_command
def addresses(args: argparse.Namespace) -> int:
    """``statefun-faas addresses``: the addresses with state, waiting or delayed messages, a page at a time."""
    after = None if args.after is None else _parsed(args.after, "--after")
    store = open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        page = views.addresses(store, args.typename or "", args.id_prefix or "", after, args.limit)
    print("address\tstates\twaiting\tdelayed")
    for item in page.items:
        print(f"{item.address}\t{item.states}\t{item.waiting}\t{item.delayed}")
    more = "" if page.next is None else f"; the next page: --after {page.next}"
    print(f"{len(page.items)} address(es){more}")
    return 0


@_command
def inbox(args: argparse.Namespace) -> int:
    """``statefun-faas inbox ADDRESS``: the messages waiting for one address, oldest first."""
    address = _parsed(args.address)
    store = open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        waiting = views.inbox(store, address, args.after, args.limit)
        total = store.inbox_size(address)
    print("seq\tfrom\ttypename\tbytes\tvalue")
    for message in waiting:
        caller = message.caller or "ingress"
        print(f"{message.seq}\t{caller}\t{message.argument.typename}\t{message.size}\t{_value(message.argument)}")
    more = f"; the next page: --after {waiting[-1].seq}" if waiting and len(waiting) == args.limit else ""
    print(f"{len(waiting)} shown of {total} message(s) waiting for {address}{more}")
    return 0


@_command
def delayed(args: argparse.Namespace) -> int:
    """``statefun-faas delayed [ADDRESS]``: the delayed messages not fired yet, by fire time."""
    address = None if args.address is None else _parsed(args.address)
    store = open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        pending = views.delayed(store, address, limit=args.limit + 1)
    print("fires at\tto\tfrom\ttoken\ttypename\tbytes\tvalue")
    for message in pending[: args.limit]:
        print(
            f"{_when(message.fire_at)}\t{message.target}\t{message.sender}\t{message.token or '-'}\t"
            f"{message.argument.typename}\t{message.size}\t{_value(message.argument)}"
        )
    shown = min(len(pending), args.limit)
    more = "; more follow (raise --limit)" if len(pending) > args.limit else ""
    print(f"{shown} delayed message(s){'' if address is None else f' to {address}'}{more}")
    return 0


@_command
def trace(args: argparse.Namespace) -> int:
    """``statefun-faas trace ADDRESS [--seq N]``: the last invocations of an address, or one message's story."""
    address = _parsed(args.address)
    store = open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        if args.seq is not None:
            return _story(views.story(store, args.seq, address), address)
        records = views.history(store, address, limit=args.limit)
    if not records:
        print(
            f"no invocation of {address} in the history (the runtime keeps the last --history invocations "
            "of all addresses; 0 keeps none)"
        )
        return 0
    for record in records:
        print("\n".join(_invocation(record)))
    print(f"{len(records)} invocation(s) of {address}, newest first; follow one message with --seq N")
    return 0


def _story(story: views.Story, address: Address) -> int:
    if story.waiting is None and not story.invocations:
        print(
            f"statefun-faas trace: no message {story.seq} for {address}: it waits in no inbox and is in no "
            "invocation the history keeps (list them with statefun-faas trace ADDRESS)",
            file=sys.stderr,
        )
        return 1
    print(f"message {story.seq} to {address}: {story.outcome}")
    if story.sent_by is not None:
        sender = story.sent_by
        print(f"  sent by {sender.address} in invocation #{sender.n} at {_when(sender.started)}")
    if story.waiting is not None:
        message = story.waiting
        print(
            f"  in the inbox now (waiting, or being delivered): from {message.caller or 'ingress'}, "
            f"{message.argument.typename}, {message.size} bytes: {_value(message.argument)}"
        )
    for record in story.invocations:
        print("\n".join("  " + line for line in _invocation(record)))
    if story.dead_letter is not None:
        letter = story.dead_letter
        print(f"  now dead letter {letter.seq}: replay it with statefun-faas dead-letters --replay {letter.seq}")
    return 0


def _invocation(record: views.InvocationRecord) -> Iterator[str]:
    messages = f"{len(record.seqs)} message(s) (seq {_ranges(record.seqs)})"
    yield f"#{record.n} {_when(record.started)} {record.outcome} in {_ms(record.seconds)}: {messages}"
    yield f"  endpoint: {record.endpoint or 'none serves ' + record.address.typename}"
    for number, request in enumerate(record.requests, 1):
        answer = "answered" if request.error is None else f"failed: {request.error}"
        yield f"  request {number} at {_when(request.started)}, {_ms(request.seconds)}: {answer}"
    if record.reason:
        yield f"  reason: {record.reason}"
    if record.dead_letters:
        yield f"  became dead letter(s) {_ranges(record.dead_letters)}"
    if record.effects is not None:
        yield from ("  " + line for line in _effects(record.effects))


def _effects(effects: views.Effects) -> Iterator[str]:
    if effects.modified:
        yield f"state set: {', '.join(effects.modified)}"
    if effects.deleted:
        yield f"state deleted: {', '.join(effects.deleted)}"
    for sent in effects.messages:
        yield f"sent {sent.count} x {sent.typename} to {sent.target}"
    for later in effects.delayed:
        token = f" (token {later.token})" if later.token else ""
        yield f"sent {later.typename} to {later.target} delayed by {later.delay:g} s{token}"
    if effects.cancelled:
        yield f"cancelled the delayed message(s) of token {', '.join(effects.cancelled)}"
    for egress in effects.egress:
        topic = f" topic {egress.topic}" if egress.topic else ""
        yield f"wrote {egress.count} x {egress.typename} to egress {egress.egress_id}{topic}"
    if effects.sent_seqs:
        yield f"its messages got seq {_ranges(effects.sent_seqs)}"
    if effects.omitted:
        yield f"and {effects.omitted} more message(s) and record(s) not listed"
    if effects == views.Effects():
        yield "no effects"


def _parsed(text: str, what: str = "") -> Address:
    try:
        return Address.parse(text)
    except ValueError as error:
        raise _ArgumentError(f"{what + ': ' if what else ''}{error}") from None


def _ranges(numbers: Sequence[int]) -> str:
    """1, 2, 3, 5 as "1-3, 5"."""
    spans: list[list[int]] = []
    for number in numbers:
        if spans and number == spans[-1][1] + 1:
            spans[-1][1] = number
        else:
            spans.append([number, number])
    return ", ".join(str(a) if a == b else f"{a}-{b}" for a, b in spans)


def _when(epoch: float) -> str:
    return datetime.fromtimestamp(epoch).isoformat(sep=" ", timespec="milliseconds")


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms"


def _value(value: Value) -> str:
    shown = decode(value.typename, value.data or b"")
    return shown if len(shown) <= SHOWN else shown[: SHOWN - 3] + "..."
