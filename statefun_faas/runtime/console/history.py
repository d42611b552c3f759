"""An address's invocations as the history keeps them: when, how long, where, the batch, every request and its
failure, the outcome and the effects applied."""

from __future__ import annotations

from collections.abc import Iterable

from statefun_faas.runtime.console.cells import story_link
from statefun_faas.runtime.console.layout import Html, address_link, join, link, table, tag, url, when
from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store.history import Effects, InvocationRecord, Request


def invocations_table(records: Iterable[InvocationRecord], address: Address | None) -> Html:
    rows = [
        [
            record.n,
            when(record.started),
            f"{record.seconds * 1000:.1f} ms",
            tag("code", record.endpoint or "none"),
            join((story_link(seq, address) for seq in record.seqs), " "),
            _requests(record),
            _outcome(record),
            _effects(record.effects) if record.effects is not None else "",
        ]
        for record in records
    ]
    head = ["#", "started", "took", "endpoint", "batch (messages)", "requests", "outcome", "effects"]
    return table(head, rows, "none in the history")


def _requests(record: InvocationRecord) -> Html:
    """How many requests, and the failures: the same reason in a row once, with how often and when it began."""
    failed = [request for request in record.requests if request.error is not None]
    summary = f"{len(record.requests)} ({len(failed)} failed)" if failed else str(len(record.requests))
    runs: list[tuple[Request, int]] = []
    for request in failed:
        if runs and runs[-1][0].error == request.error:
            runs[-1] = (runs[-1][0], runs[-1][1] + 1)
        else:
            runs.append((request, 1))
    errors = [
        tag("li", join([when(first.started), f" {times} x " if times > 1 else " ", first.error or ""]))
        for first, times in runs[-5:]
    ]
    return join([summary, tag("ul", join(errors)) if errors else ""])


def _outcome(record: InvocationRecord) -> Html:
    style = {"applied": "ok", "dead-lettered": "bad"}.get(record.outcome, "muted")
    parts: list[object] = [tag("span", record.outcome, class_=style)]
    if record.reason:
        parts += [": ", record.reason]
    if record.dead_letters:
        dead = (link(url("/dead-letters", after=letter - 1), f"#{letter}") for letter in record.dead_letters)
        parts += [" (dead letters ", join(dead, " "), ")"]
    return join(parts)


def _effects(effects: Effects) -> Html:
    lines: list[object] = []
    if effects.modified:
        lines.append(f"set {', '.join(effects.modified)}")
    if effects.deleted:
        lines.append(f"deleted {', '.join(effects.deleted)}")
    lines += [
        join(["sent ", sent.typename, " to ", address_link(sent.target), f" x{sent.count}"])
        for sent in effects.messages
    ]
    lines += [
        join(
            [
                "delayed ",
                d.typename,
                " to ",
                address_link(d.target),
                f" in {d.delay:g} s",
                f" (token {d.token})" if d.token else "",
            ]
        )
        for d in effects.delayed
    ]
    if effects.cancelled:
        lines.append(f"cancelled {', '.join(effects.cancelled)}")
    lines += [
        f"egress {e.egress_id}{'/' + e.topic if e.topic else ''}: {e.typename} x{e.count}" for e in effects.egress
    ]
    if effects.omitted:
        lines.append(f"and {effects.omitted} more")
    return join(join([line, Html("<br>")]) for line in lines) if lines else tag("span", "nothing", class_="muted")
