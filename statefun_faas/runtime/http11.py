"""HTTP/1.1 message framing shared by the runtime's small client and server: a head, then a body sized by
Content-Length, sent in chunks, or (answers only) running to the end of the connection.

Parsers are fed bytes as they arrive and return a finished message once there is one.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from urllib.parse import unquote

MAX_HEAD = 64 * 1024
Headers = dict[str, str]


class HttpFramingError(Exception):
    """The bytes received are not a well-formed HTTP/1.1 message."""


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Headers  # names in lower case
    body: bytes
    keep_alive: bool


def parse_head(head: bytes) -> tuple[str, Headers]:
    """The start line and the headers (names lower-cased, repeated ones joined with commas)."""
    start, *lines = head.decode("latin-1").split("\r\n")  # latin-1 decodes every byte
    headers: Headers = {}
    for line in lines:
        name, colon, value = line.partition(":")
        if not colon or not name or name != name.strip():
            raise HttpFramingError(f"malformed header line {line[:60]!r}")
        name = name.lower()
        value = value.strip()
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return start, headers


class Body:
    """Reads one body: ``length`` bytes, chunked, or (``length`` None, not chunked) up to the end."""

    def __init__(self, headers: Headers, until_end: bool) -> None:
        self.chunked = "chunked" in headers.get("transfer-encoding", "").lower()
        length = headers.get("content-length")
        if self.chunked or length is None:
            self.length: int | None = None
        elif not length.isdigit():
            raise HttpFramingError(f"invalid Content-Length {length[:30]!r}")
        else:
            self.length = int(length)
        self.until_end = until_end and not self.chunked and self.length is None
        self.parts: list[bytes] = []

    def take(self, buffer: bytearray) -> bool:
        """Consume what the buffer holds of the body; True once the body is complete."""
        if self.chunked:
            return self._take_chunks(buffer)
        if self.until_end:
            self.parts.append(bytes(buffer))
            del buffer[:]
            return False
        length = self.length or 0
        if len(buffer) < length:
            return False
        self.parts.append(bytes(buffer[:length]))
        del buffer[:length]
        return True

    def _take_chunks(self, buffer: bytearray) -> bool:
        while True:
            end = buffer.find(b"\r\n")
            if end < 0:
                return False
            size_text = bytes(buffer[:end]).split(b";", 1)[0].strip()
            try:
                size = int(size_text, 16)
            except ValueError:
                raise HttpFramingError(f"invalid chunk size {size_text[:20]!r}") from None
            if size == 0:
                trailer = buffer.find(b"\r\n\r\n", end)
                if trailer < 0:
                    return False
                del buffer[: trailer + 4]
                return True
            if len(buffer) < end + 2 + size + 2:
                return False
            self.parts.append(bytes(buffer[end + 2 : end + 2 + size]))
            del buffer[: end + 2 + size + 2]

    def data(self) -> bytes:
        return self.parts[0] if len(self.parts) == 1 else b"".join(self.parts)


def inflate(body: bytes, encoding: str) -> bytes:
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        return zlib.decompress(body, 16 + zlib.MAX_WBITS)
    if encoding == "deflate":
        try:
            return zlib.decompress(body)
        except zlib.error:
            return zlib.decompress(body, -zlib.MAX_WBITS)
    raise HttpFramingError(f"unsupported Content-Encoding {encoding[:30]!r}")


def keep_alive(version: str, headers: Headers) -> bool:
    connection = headers.get("connection", "").lower()
    if version == "HTTP/1.0":
        return "keep-alive" in connection
    return "close" not in connection


class AnswerTooLargeError(HttpFramingError):
    """The answer's body is larger than the client takes."""


class AnswerParser:
    """Parses one answer to a request; informational (1xx) answers are skipped; ``max_body`` (None: no limit)
    bounds the body as received and once inflated."""

    def __init__(self, max_body: int | None = None) -> None:
        self.max_body = max_body
        self.buffer = bytearray()
        self.head: tuple[int, str, Headers] | None = None
        self.body: Body | None = None

    def feed(self, data: bytes) -> Answer | None:
        self.buffer += data
        while self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise HttpFramingError("answer head larger than 64 KiB")
                return None
            self._start(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
        assert self.body is not None
        if self.max_body is not None:
            self._check_size(max(self.body.length or 0, len(self.buffer) + sum(map(len, self.body.parts))))
        return self._finish() if self.body.take(self.buffer) else None

    def _check_size(self, size: int) -> None:
        if self.max_body is not None and size > self.max_body:
            raise AnswerTooLargeError(f"the answer's body is larger than {self.max_body} bytes")

    def feed_eof(self) -> Answer | None:
        """The connection ended: an answer running to the end is complete now, any other is cut short."""
        if self.body is not None and self.body.until_end:
            return self._finish()
        return None

    def _start(self, head: bytes) -> None:
        start, headers = parse_head(head)
        version, _, rest = start.partition(" ")
        code = rest[:3]
        if not version.startswith("HTTP/1.") or not code.isdigit():
            raise HttpFramingError(f"not an HTTP/1.x status line: {start[:60]!r}")
        if code.startswith("1"):
            return  # 100 Continue and friends: the real answer follows
        self.head = (int(code), version, headers)
        self.body = Body(headers, until_end=code not in ("204", "304"))
        if code in ("204", "304"):
            self.body.length = 0

    def _finish(self) -> Answer:
        assert self.head is not None
        assert self.body is not None
        status, version, headers = self.head
        try:
            body = inflate(self.body.data(), headers.get("content-encoding", ""))
        except zlib.error as error:
            raise HttpFramingError(f"the compressed body does not inflate: {error}") from None
        self._check_size(len(body))
        return Answer(status, headers, body, keep_alive(version, headers) and not self.body.until_end)


@dataclass(frozen=True, slots=True)
class Request:
    method: str
    path: str  # percent-decoded, without the query
    headers: Headers  # names in lower case
    body: bytes
    keep_alive: bool


class RequestTooLargeError(HttpFramingError):
    """The request's head or declared body is larger than the server takes."""


class RequestParser:
    """Parses the requests of one connection, one after another; ``max_body`` bounds each body."""

    def __init__(self, max_body: int) -> None:
        self.max_body = max_body
        self.buffer = bytearray()
        self.head: tuple[str, str, str, Headers] | None = None
        self.body: Body | None = None

    def feed(self, data: bytes) -> None:
        self.buffer += data

    def next(self) -> Request | None:
        """The next complete request in what was fed, if there is one."""
        if self.head is None:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(self.buffer) > MAX_HEAD:
                    raise RequestTooLargeError("request head larger than 64 KiB")
                return None
            self._start(bytes(self.buffer[:end]))
            del self.buffer[: end + 4]
        assert self.body is not None
        if not self.body.take(self.buffer):
            if sum(map(len, self.body.parts)) > self.max_body:
                raise RequestTooLargeError(f"request body larger than {self.max_body} bytes")
            return None
        return self._finish()

    @property
    def expects_continue(self) -> bool:
        """The head asked for ``100 Continue`` and the body has not come yet."""
        return self.head is not None and self.head[3].get("expect", "").lower() == "100-continue"

    def _start(self, head: bytes) -> None:
        start, headers = parse_head(head.lstrip(b"\r\n"))
        parts = start.split(" ")
        method, target, version = parts if len(parts) == 3 else ("", "", "")
        if not method or not target or not version.startswith("HTTP/1."):
            raise HttpFramingError(f"not an HTTP/1.x request line: {start[:60]!r}")
        self.head = (method, target, version, headers)
        self.body = Body(headers, until_end=False)
        if self.body.length is not None and self.body.length > self.max_body:
            raise RequestTooLargeError(f"request body larger than {self.max_body} bytes")

    def _finish(self) -> Request:
        assert self.head is not None
        assert self.body is not None
        method, target, version, headers = self.head
        body = self.body.data() if self.body.parts else b""
        self.head = self.body = None
        return Request(method, request_path(target), headers, body, keep_alive(version, headers))


def request_path(target: str) -> str:
    """The decoded path of a request target (origin or absolute form); undecodable escapes stay as sent."""
    if not target.startswith("/") and "://" in target:
        target = "/" + target.split("://", 1)[1].partition("/")[2]
    path = target.partition("?")[0].partition("#")[0]
    try:
        return unquote(path, errors="strict")
    except UnicodeDecodeError:
        return path
