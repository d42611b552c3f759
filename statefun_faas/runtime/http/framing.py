"""HTTP/1.1 framing by llhttp (through httptools, the parser uvicorn runs): what the runtime's server and
client share, and the server's requests (the client's answers: answerparser.py).

llhttp reads the bytes: request and status lines, headers, Content-Length, chunked bodies, and the checks
against request smuggling (Content-Length beside Transfer-Encoding, duplicate lengths, bad chunk sizes).
It keeps nothing itself; what it hands over is kept here only within bounds checked first: a head is at
most ``max_head`` bytes, a body at most ``max_body`` (a declared length over it is refused before the body
is read), a chunked request's framing (sizes, extensions) is bounded too.

llhttp follows RFC 9112 and refuses non-ASCII bytes in a request target, which some clients send as typed
(``/greeter/café``: older curl, scripts writing to a socket); so the request line's non-ASCII bytes are
percent-encoded before llhttp reads it, and paths are percent-decoded to UTF-8 either way. That needs each
request line found: the parser waits for a whole head (the first ``\\r\\n\\r\\n``) and hands llhttp exactly
one message at a time (a body by its Content-Length; after a chunked body the connection closes, its end
being known only to llhttp). Holding the head also lets an ``Upgrade`` header (curl ``--http2`` sends one
with its PUTs) be ignored, as a server may: llhttp would hand the body to the new protocol.

Cost, measured against the hand-written framing it replaced (CPU time, one process): a playground PUT
parses in about 7.8 us instead of 6.5 us, a function's answer in 7.9 us instead of 7.1 us. End to end
(``benchmarks/runtime.py`` back to back on a shared 2-core machine, 2 to 10 runs a row) the median runtime
CPU per message moved between -12 % and +13 % by row, and by -17 % on the row without any HTTP: noise larger
than the difference (RELIABILITY.md has the table). Kept
for what the microseconds buy: a parser fuzzed and run far more widely than ours (uvicorn, Node.js), its
smuggling checks, and no hand-written chunk parser, whose negative chunk size once hung the runtime.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from urllib.parse import unquote_to_bytes

import httptools

MAX_HEAD = 64 * 1024
Headers = dict[str, str]


class HttpFramingError(Exception):
    """The bytes received are not a well-formed HTTP/1.1 message."""


class RequestTooLargeError(HttpFramingError):
    """The request's head, body or framing is larger than the server takes."""


class AnswerTooLargeError(HttpFramingError):
    """The answer's head or body is larger than the client takes."""


class StopReadingError(Exception):
    """Raised in a callback to make llhttp stop: the rest of the bytes are not read."""


class Message:
    """llhttp callbacks both directions share: the headers and a body bounded as it arrives."""

    too_large: type[HttpFramingError] = HttpFramingError
    what = "message"
    body_too_large = "message body larger than {} bytes"
    _llhttp: httptools.HttpRequestParser | httptools.HttpResponseParser

    def __init__(self, max_body: int | None, max_head: int) -> None:
        self.max_body, self.max_head = max_body, max_head
        self.headers: Headers = {}
        self.parts: list[bytes] = []
        self.size = 0

    def _clear(self) -> None:
        self.headers, self.parts, self.size = {}, [], 0

    def on_header(self, name: bytes, value: bytes) -> None:
        key, text = name.decode("latin-1").lower(), value.decode("latin-1")
        self.headers[key] = f"{self.headers[key]}, {text}" if key in self.headers else text

    def on_body(self, data: bytes) -> None:
        self.size += len(data)
        self._check(self.size)
        self.parts.append(data)

    def _check(self, size: int) -> None:
        if self.max_body is not None and size > self.max_body:
            raise self.too_large(self.body_too_large.format(self.max_body))

    def _head_too_large(self) -> HttpFramingError:
        size = f"{self.max_head // 1024} KiB" if self.max_head % 1024 == 0 else f"{self.max_head} bytes"
        return self.too_large(f"{self.what} head larger than {size}")

    def body(self) -> bytes:
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)

    def _execute(self, data: bytes | bytearray | memoryview) -> None:
        """Feed llhttp; our own errors raised in callbacks come out as themselves."""
        try:
            self._llhttp.feed_data(data)
        except httptools.HttpParserCallbackError as error:
            cause = error.__context__
            if isinstance(cause, StopReadingError):
                return
            if isinstance(cause, HttpFramingError):
                raise cause from None
            raise
        except httptools.HttpParserUpgrade:
            self._upgraded()
        except httptools.HttpParserError as error:
            if not self._done():
                raise HttpFramingError(f"malformed HTTP/1.1 {self.what}: {error}") from None

    def _upgraded(self) -> None:
        """An upgrade was asked for: refused, unless the request side answers it over HTTP/1.1."""
        raise HttpFramingError(f"the {self.what} switches protocols; only HTTP/1.1 is spoken here")

    def _done(self) -> bool:
        """Nothing more is read (bytes llhttp refused come after the last message taken)."""
        return False


_NON_ASCII = re.compile(rb"[\x80-\xff]")
_UPGRADE = re.compile(rb"\r\nupgrade:[^\r]*", re.IGNORECASE)  # a header line (the head has no body)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded UTF-8, without the query
    headers: Headers  # names in lower case
    body: bytes
    keep_alive: bool
    query: str = ""  # the request target's query, as sent (percent-encoded), without the "?"


class RequestParser(Message):
    """The requests of one connection, one after another: :meth:`feed` bytes, then :meth:`next`."""

    too_large = RequestTooLargeError
    what = "request"
    body_too_large = "request body larger than {} bytes"

    def __init__(self, max_body: int, max_head: int = MAX_HEAD) -> None:
        super().__init__(max_body, max_head)
        self.limit = max_body
        self._llhttp: httptools.HttpRequestParser = httptools.HttpRequestParser(self)
        self._buffer = bytearray()  # bytes llhttp has not seen
        self._scanned = 0  # where the search for the head's end goes on
        self._url = bytearray()
        self._path = ""
        self._query = ""
        self._left: int | None = 0  # body bytes llhttp is still to get; None: chunked
        self._framing = 0  # bytes a chunked body may still take on the wire
        self.in_body = False  # a head was read, its body is not complete
        self.ready: deque[Request] = deque()
        self.error: HttpFramingError | None = None
        self.closing = False  # nothing after the ready requests is read on this connection

    @property
    def started(self) -> bool:
        """Bytes of a request that is not complete yet were received."""
        return self.in_body or bool(self._buffer)

    @property
    def expects_continue(self) -> bool:
        """The head asked for ``100 Continue`` and the body has not come yet."""
        return self.in_body and self.headers.get("expect", "").lower() == "100-continue"

    def feed(self, data: bytes) -> None:
        if self.closing:
            return
        self._buffer += data
        try:
            self._parse()
        except HttpFramingError as error:
            self.error, self.closing, self.in_body = error, True, False
            self._buffer.clear()

    def next(self) -> Request | None:
        """The next complete request, if there is one; raises what was wrong once the good ones are taken."""
        if self.ready:
            return self.ready.popleft()
        if self.error is not None:
            raise self.error
        return None

    def _parse(self) -> None:
        buffer = self._buffer
        while buffer and not self.closing:
            if not self.in_body:
                if not self._head():
                    return
            elif self._left is None:
                if not self._framing:
                    raise RequestTooLargeError(
                        f"the chunked body's framing is larger than {self.limit + self.max_head} bytes "
                        "(chunk extensions or many tiny chunks)"
                    )
                self._framing -= self._feed_buffer(min(len(buffer), self._framing))
            elif self._left:
                self._left -= self._feed_buffer(min(len(buffer), self._left))
            else:  # llhttp did not see a request in the head: never feed nothing forever
                raise HttpFramingError("malformed HTTP/1.1 request: no request line")

    def _head(self) -> bool:
        buffer = self._buffer
        if buffer[0] in b"\r\n":  # line ends before a request line are skipped, as llhttp does
            del buffer[: len(buffer) - len(buffer.lstrip(b"\r\n"))]
            if not buffer:
                return False
        end = buffer.find(b"\r\n\r\n", max(0, self._scanned - 3))
        if end < 0 or end + 4 > self.max_head:
            if len(buffer) > self.max_head:
                raise self._head_too_large()
            self._scanned = len(buffer)
            return False
        head = bytes(buffer[: end + 4])
        del buffer[: end + 4]
        self._scanned = 0
        line = head.find(b"\r\n")
        if not head[:line].isascii():
            head = _NON_ASCII.sub(lambda byte: b"%%%02X" % byte[0][0], head[:line]) + head[line:]
        if b"upgrade:" in head.lower():  # ignored (RFC 9110 7.8): llhttp would give the body to the new protocol
            head = _UPGRADE.sub(b"", head)
        self._clear()
        self._url.clear()
        self.in_body = True  # until llhttp completes the message (at once, without a body)
        self._execute(head)
        return True

    def _feed_buffer(self, size: int) -> int:
        if size == len(self._buffer):
            self._execute(self._buffer)
            self._buffer.clear()
            return size
        with memoryview(self._buffer) as view, view[:size] as part:
            self._execute(part)
        del self._buffer[:size]
        return size

    def on_url(self, url: bytes) -> None:
        if self.closing:  # a request after the last one this connection reads
            raise StopReadingError
        self._url += url

    def on_headers_complete(self) -> None:
        target = self._url.decode("ascii")
        self._path = request_path(target)
        self._query = target.partition("?")[2].partition("#")[0]
        if "transfer-encoding" in self.headers:  # llhttp refuses any but a final "chunked"
            self._left, self._framing = None, 2 * self.limit + self.max_head
            return
        length = self.headers.get("content-length")
        self._left = int(length) if length else 0  # llhttp checked the digits
        self._check(self._left)

    def on_message_complete(self) -> None:
        llhttp = self._llhttp
        keep_alive = llhttp.should_keep_alive() and not llhttp.should_upgrade() and self._left is not None
        method = llhttp.get_method().decode("ascii")
        body = self.body() if self.parts else b""
        self.ready.append(Request(method, self._path, self.headers, body, keep_alive, self._query))
        self.in_body = False
        self.closing = not keep_alive

    def _upgraded(self) -> None:
        self.closing = True  # CONNECT: answer it, read nothing after it

    def _done(self) -> bool:
        return self.closing


def request_path(target: str) -> str:
    """The path of a request target (origin or absolute form), percent-decoded as UTF-8."""
    if not target.startswith("/") and "://" in target:
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    path = target.partition("?")[0].partition("#")[0]
    if "%" not in path:
        return path  # ASCII already (llhttp's request line)
    try:
        return unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError as error:
        raise HttpFramingError(
            f"the request path {path[:80]!r} is not UTF-8 (byte {error.object[error.start]:#04x}); "
            "send the path's text as UTF-8, percent-encoded or not"
        ) from None
