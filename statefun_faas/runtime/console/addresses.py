"""Addresses: the search (by function type and id prefix, keyset-paged), one address (its decoded state, inbox,
delayed messages and last invocations), and one message's story."""

from __future__ import annotations

from typing import TYPE_CHECKING

from statefun_faas.runtime.console.cells import caller_cell, parse_address, story_link, value_cell
from statefun_faas.runtime.console.history import invocations_table
from statefun_faas.runtime.console.layout import (
    Html,
    address_link,
    address_url,
    esc,
    join,
    link,
    page,
    refresh_switch,
    table,
    tag,
    url,
    when,
)
from statefun_faas.runtime.console.letters import letter_actions
from statefun_faas.runtime.console.params import Asked, BadParameterError, Params
from statefun_faas.runtime.store import views
from statefun_faas.runtime.values import describe

if TYPE_CHECKING:
    from statefun_faas.runtime.console.server import Console

LISTED = 20  # inbox messages, delayed messages and invocations on an address's page
PREVIEW = 2000  # characters of a value shown in a list


def _typename_filter(params: Params) -> str:
    """A function type, a namespace written ``ns/*``, or ""."""
    value = params.text("typename")
    if value.endswith("*"):
        return value
    return params.typename()


async def addresses(console: Console, asked: Asked) -> bytes:
    params = asked.params
    typename, id_prefix, limit = _typename_filter(params), params.text("id"), params.limit()
    after_text = params.text("after")
    after = parse_address(after_text, "after") if after_text else None
    found = views.addresses(console.runtime.store, typename, id_prefix, after, limit)
    rows = [[address_link(s.address), s.states, s.waiting, s.delayed] for s in found.items]
    more = (
        link(url("/addresses", typename=typename, id=id_prefix, limit=limit, after=str(found.next)), "Next page")
        if found.next is not None
        else tag("span", "Last page", class_="muted")
    )
    return page(
        "Addresses",
        _search_form(console, typename, id_prefix),
        table(["address", "state values", "waiting", "delayed"], rows, "no address matches"),
        tag("p", more),
    )


def _search_form(console: Console, typename: str, id_prefix: str) -> Html:
    runtime = console.runtime
    known = [endpoint.functions for endpoint in runtime.module.endpoints]
    known += list(runtime.functions.typenames) if runtime.functions is not None else []
    options = join(tag("option", "", value=name) for name in dict.fromkeys(known))
    fields = join(
        [
            tag("label", join(["function type (or ns/*)", _input("typename", typename, "types")])),
            tag("label", join(["id starts with", _input("id", id_prefix)])),
            Html('<button type="submit">Search</button>'),
            tag("datalist", options, id="types"),
        ]
    )
    return tag("form", fields, method="get", action="/addresses", class_="filters")


def _input(name: str, value: str, datalist: str | None = None) -> Html:
    extra = f' list="{datalist}"' if datalist else ""
    return Html(f'<input name="{name}" value="{esc(value)}"{extra}>')


async def address(console: Console, asked: Asked) -> bytes:
    target = parse_address(asked.rest, "the address in the path")
    params, store, decoder = asked.params, console.runtime.store, console.decoder
    refresh = params.refresh()
    inbox_after = params.number("inbox_after", 0) or 0
    before = params.number("history_before", None, 1)
    values = [
        [tag("code", state.spec.name), describe(state.spec), value_cell(decoder, state.value)]
        for state in views.states(store, target)
    ]
    waiting = views.inbox(store, target, inbox_after, LISTED)
    inbox = [
        [
            story_link(message.seq, target),
            caller_cell(message.caller),
            message.argument.typename,
            value_cell(decoder, message.argument, PREVIEW),
        ]
        for message in waiting
    ]
    pending = [
        [
            when(message.fire_at),
            caller_cell(message.sender),
            tag("code", message.token),
            message.argument.typename,
            value_cell(decoder, message.argument, PREVIEW),
        ]
        for message in views.delayed(store, target, None, LISTED)
    ]
    records = views.history(store, target, before, LISTED)
    here = address_url(target)
    parts: list[object] = [
        refresh_switch(here, refresh),
        tag("h2", "State"),
        table(["name", "type", "value"], values, "no states registered for this function type"),
        tag("h2", f"Inbox ({store.inbox_size(target):,} waiting)"),
        table(["message", "from", "type", "value"], inbox, "empty"),
    ]
    if len(waiting) == LISTED:
        parts.append(tag("p", link(url(here, inbox_after=waiting[-1].seq), "More of the inbox")))
    parts += [
        tag("h2", "Delayed messages to it (the first to fire)"),
        table(["fires at", "from", "token", "type", "value"], pending, "none"),
        tag("h2", "Last invocations"),
        invocations_table(records, target),
    ]
    if len(records) == LISTED:
        parts.append(tag("p", link(url(here, history_before=records[-1].n), "Older invocations")))
    parts.append(tag("p", link(url("/dead-letters", address=str(target)), "Its dead letters")))
    return page(str(target), *parts, refresh=refresh)


async def message(console: Console, asked: Asked) -> bytes:
    if not (asked.rest.isascii() and asked.rest.isdigit()):
        raise BadParameterError(f"{asked.rest[:40]!r} is no message number: the path is /messages/<seq>")
    seq = int(asked.rest)
    address_text = asked.params.text("address")
    target = parse_address(address_text, "address") if address_text else None
    story = views.story(console.runtime.store, seq, target)
    parts: list[object] = [
        tag("p", join(["Outcome: ", tag("b", story.outcome)])),
        tag("p", join(["Address: ", address_link(story.address) if story.address else "unknown"])),
    ]
    if story.sent_by is not None:
        parts += [tag("h2", "Sent by"), invocations_table([story.sent_by], story.sent_by.address)]
    if story.waiting is not None:
        argument = story.waiting.argument
        parts += [
            tag("h2", "Waiting in its inbox"),
            table(
                ["from", "type", "value"],
                [[caller_cell(story.waiting.caller), argument.typename, value_cell(console.decoder, argument)]],
            ),
        ]
    parts += [tag("h2", "Invocations that carried it"), invocations_table(story.invocations, story.address)]
    letter = story.dead_letter
    if letter is not None:
        letter_link = link(url("/dead-letters", after=letter.seq - 1), f"#{letter.seq}")
        parts += [
            tag("h2", "Dead letter"),
            tag("p", join(["It is dead letter ", letter_link, ": ", letter.reason])),
            table(["value"], [[value_cell(console.decoder, letter.envelope.argument)]]),
            letter_actions([letter.seq]),
        ]
    if story.outcome == "unknown":
        parts.append(
            tag(
                "p",
                "The history keeps no invocation with this message (it may be older than the "
                "history's window, or no such message was stored).",
                class_="muted",
            )
        )
    return page(f"Message {seq}", *parts)
