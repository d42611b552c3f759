"""Secrets out of URLs before a URL is logged, stored or printed: one place for every form a URL carries one in.

A function URL in module.yaml may carry the token a function checks (``?token=``, or the ``/t/<token>/``
path prefix), an Azure function key (``?code=``) or a password (``http://user:password@host/``)::

    redact_url("https://me:pw@h/t/s3cret/fn?%74oken=s3cret&x=1")  # 'https://***@h/t/***/fn?%74oken=***&x=1'

Keys and path segments are compared percent-decoded and case-blind, so every spelling an adapter
accepts (and a few more) is hidden. A URL whose parts can not be told apart safely is hidden whole.
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit

__all__ = ["HIDDEN_URL", "redact_url"]

REDACTED = "***"
#: Query keys whose values are secrets: the adapters' ``token`` and the Azure function key ``code``.
CREDENTIAL_KEYS = frozenset({"token", "code"})
#: What a URL that can not be split safely into its parts reads as.
HIDDEN_URL = "<URL hidden: not of the form scheme://host/path>"
_TOKEN_SEGMENT = "t"  # /t/<token>/...
_AUTHORITY = re.compile(r"[\x00-\x20]*([A-Za-z][A-Za-z0-9+.-]*:)?//")
_SEPARATOR = re.compile(r"([&;])")


def redact_url(url: str) -> str:
    """``url`` with its credentials replaced by ``***``: userinfo, ``token``/``code`` query values,
    the segment after a ``/t/`` path segment and the fragment; :data:`HIDDEN_URL` when it is malformed.

    A relative URL (a path with its query) is redacted the same way.
    """
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 -- a port that is not a number: maybe a password whose host is missing
    except ValueError:
        return HIDDEN_URL
    authority = _AUTHORITY.match(url)
    if authority is None and not url.startswith("/"):
        return HIDDEN_URL
    if url.count("@") != parts.netloc.count("@"):  # an '@' past the host: a password holding '/', '?' or '#'
        return HIDDEN_URL
    head = ""
    if authority is not None:
        netloc = parts.netloc
        if "@" in netloc:
            netloc = f"{REDACTED}@{netloc.rpartition('@')[2]}"
        head = (f"{parts.scheme}://" if parts.scheme else "//") + netloc
    redacted = head + _path(parts.path)
    if parts.query:
        redacted += "?" + "".join(_pair(piece) for piece in _SEPARATOR.split(parts.query))
    if parts.fragment:  # never sent, but written into the URL by someone: hidden too
        redacted += "#" + REDACTED
    return redacted


def _path(path: str) -> str:
    segments = path.split("/")
    for index in range(1, len(segments)):
        if _decoded(segments[index - 1]) == _TOKEN_SEGMENT and segments[index]:
            segments[index] = REDACTED
    return "/".join(segments)


def _pair(piece: str) -> str:
    key, equals, _ = piece.partition("=")
    return f"{key}={REDACTED}" if equals and _decoded(key) in CREDENTIAL_KEYS else piece


def _decoded(text: str) -> str:
    """``text`` percent-decoded until nothing changes (a proxy may decode once more), trimmed and case-folded."""
    previous = None
    while text != previous:
        previous, text = text, unquote_plus(text)
    return text.strip().casefold()
