"""A page's parameters from its query (or a form's body), checked: a bad one is a :class:`BadParameterError`,
answered 400 with a page that names it and says what it takes."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import parse_qsl

from statefun_faas.errors import ConfigurationError
from statefun_faas.types import split_typename

PAGE_SIZE, MOST_PER_PAGE = 50, 200
MOST_REFRESH_S = 3600
LONGEST_TEXT = 512  # characters of a typename or id searched for


class BadParameterError(ValueError):
    """A parameter of the request is not usable; the message says which and what it takes."""


class Params:
    """The parameters of one request by name; the last one wins when a name repeats (but see :meth:`ints`)."""

    def __init__(self, encoded: str) -> None:
        try:
            self.pairs = parse_qsl(encoded, keep_blank_values=True, strict_parsing=False, errors="strict")
        except UnicodeDecodeError:
            raise BadParameterError("the parameters are not UTF-8 once percent-decoded") from None
        self.values = dict(self.pairs)

    def text(self, name: str) -> str:
        """The parameter as given ("" when missing), at most :data:`LONGEST_TEXT` characters."""
        value = self.values.get(name, "").strip()
        if len(value) > LONGEST_TEXT:
            raise BadParameterError(f"{name} is {len(value)} characters long; give at most {LONGEST_TEXT}")
        return value

    def typename(self, name: str = "typename") -> str:
        """A function type ``namespace/name``, or "" when not given."""
        value = self.text(name)
        if value:
            try:
                split_typename(value, name)
            except ConfigurationError as error:
                raise BadParameterError(str(error)) from None
        return value

    def number(self, name: str, default: int | None, least: int = 0, most: int = 1 << 62) -> int | None:
        """A whole number from ``least`` to ``most``, or ``default`` when not given."""
        raw = self.values.get(name, "").strip()
        if not raw:
            return default
        if not (raw.isascii() and raw.isdigit()) or not least <= int(raw) <= most:
            raise BadParameterError(f"{name}={raw[:40]!r}: give a whole number from {least} to {most}")
        return int(raw)

    def ints(self, name: str, most: int = MOST_PER_PAGE) -> list[int]:
        """Every value given for ``name`` (checkboxes), each a whole number; at most ``most`` of them."""
        raw = [value for key, value in self.pairs if key == name]
        if len(raw) > most:
            raise BadParameterError(f"{len(raw)} values of {name}; give at most {most} at once")
        bad = [value for value in raw if not (value.isascii() and value.isdigit())]
        if bad:
            raise BadParameterError(f"{name}={bad[0][:40]!r}: give a whole number")
        return [int(value) for value in raw]

    def limit(self) -> int:
        return self.number("limit", PAGE_SIZE, 1, MOST_PER_PAGE) or PAGE_SIZE

    def refresh(self) -> int | None:
        return self.number("refresh", None, 1, MOST_REFRESH_S)

    def choice(self, name: str, choices: tuple[str, ...]) -> str:
        value = self.values.get(name, "")
        if value not in choices:
            raise BadParameterError(f"{name}={value[:40]!r}: give one of {', '.join(choices)}")
        return value


@dataclass(frozen=True)
class Asked:
    """What a page is asked: the parameters, the path after the page's own prefix, the request's headers."""

    params: Params
    rest: str = ""
    headers: Mapping[str, str] | None = None

    def header(self, name: str) -> str | None:
        return None if self.headers is None else self.headers.get(name)
