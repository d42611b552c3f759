"""Pieces several pages show: an address from a parameter, a message's sender, a value decoded, a link to a
message's story."""

from __future__ import annotations

from statefun_faas.runtime.console.layout import Html, address_link, join, link, pre, tag, url
from statefun_faas.runtime.console.params import BadParameterError
from statefun_faas.runtime.console.values import Decoder
from statefun_faas.runtime.records import Address, Value


def parse_address(text: str, what: str) -> Address:
    """``namespace/type/id`` given as ``what``; a bad one is a 400."""
    try:
        return Address.parse(text)
    except ValueError as error:
        raise BadParameterError(f"{what}: {error}") from None


def story_link(seq: int, address: Address | None) -> Html:
    return link(url(f"/messages/{seq}", address=str(address) if address else None), str(seq))


def caller_cell(caller: Address | None) -> Html:
    return address_link(caller) if caller is not None else tag("span", "ingress", class_="muted")


def value_cell(decoder: Decoder, value: Value | None, most: int | None = None) -> Html:
    """The value decoded (its first ``most`` characters), with how it was read."""
    if value is None:
        return tag("span", "no value", class_="muted")
    shown = decoder.show(value.typename, value.data)
    text = shown.text if most is None or len(shown.text) <= most else shown.text[:most] + " ..."
    note = tag("div", join([shown.kind, f": {shown.note}" if shown.note else ""]), class_="muted")
    return join([pre(text), note])
