"""Dead letters: the list (all, or one address's; keyset-paged by id) with their reasons, and the actions on
the ones ticked: replay (back into their inboxes, delivered at once) and discard (deleted)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from statefun_faas.runtime.console.cells import caller_cell, parse_address, value_cell
from statefun_faas.runtime.console.layout import Html, address_link, join, link, page, table, tag, url, when
from statefun_faas.runtime.console.params import Asked
from statefun_faas.runtime.http.server import Response
from statefun_faas.runtime.store import views

if TYPE_CHECKING:
    from statefun_faas.runtime.console.server import Console

ACTIONS = ("replay", "discard")
PREVIEW = 500  # characters of a value shown in the list


async def dead_letters(console: Console, asked: Asked) -> bytes:
    params = asked.params
    address_text, limit = params.text("address"), params.limit()
    target = parse_address(address_text, "address") if address_text else None
    after = params.number("after", 0) or 0
    replayed, discarded = params.number("replayed", None), params.number("discarded", None)
    letters = views.dead_letters(console.runtime.store, target, after, limit)
    rows = [
        [
            Html(f'<input type="checkbox" name="seq" value="{letter.seq}" aria-label="dead letter {letter.seq}">'),
            letter.seq,
            when(letter.at),
            address_link(letter.envelope.target),
            caller_cell(letter.envelope.caller),
            letter.envelope.argument.typename,
            value_cell(console.decoder, letter.envelope.argument, PREVIEW),
            letter.reason,
        ]
        for letter in letters
    ]
    head = ["", "id", "at", "to", "from", "type", "value", "reason"]
    buttons = _buttons("the ticked")
    form = tag(
        "form",
        join([table(head, rows, "no dead letters"), buttons if rows else ""]),
        method="post",
        action="/dead-letters",
    )
    parts: list[object] = []
    if replayed is not None:
        parts.append(tag("p", f"Replayed {replayed} dead letter(s): back in their inboxes.", class_="ok"))
    if discarded is not None:
        parts.append(tag("p", f"Discarded {discarded} dead letter(s).", class_="ok"))
    if target is not None:
        parts.append(tag("p", join(["Of ", address_link(target), " only. ", link("/dead-letters", "All")])))
    parts.append(form)
    if len(letters) == limit:
        more = url("/dead-letters", address=address_text, limit=limit, after=letters[-1].seq)
        parts.append(tag("p", link(more, "Next page")))
    return page("Dead letters", *parts)


def _buttons(which: str) -> Html:
    return join(
        Html(f'<button type="submit" name="action" value="{action}">{action.capitalize()} {which}</button> ')
        for action in ACTIONS
    )


def letter_actions(seqs: list[int]) -> Html:
    """A form replaying or discarding these dead letters (a message's page: the letter it became)."""
    hidden = join(Html(f'<input type="hidden" name="seq" value="{int(seq)}">') for seq in seqs)
    return tag("form", join([hidden, _buttons("it")]), method="post", action="/dead-letters")


async def act(console: Console, asked: Asked) -> Response:
    """Replay or discard the ticked dead letters, then back to the list (a GET: reloading it does not act again)."""
    action = asked.params.choice("action", ACTIONS)
    seqs = asked.params.ints("seq")
    store = console.runtime.store
    if action == "replay":
        before = store.pending
        console.runtime.router.wake(store.replay(seqs))
        done = store.pending - before  # the messages it put back (synchronous: nothing else ran meanwhile)
    else:
        done = store.discard(seqs)
    where = url("/dead-letters", **{f"{action}ed": done})
    return Response(303, b"", "text/html; charset=utf-8", (("Location", where),))
