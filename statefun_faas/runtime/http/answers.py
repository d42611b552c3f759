"""One answer to a function call, framed by llhttp (see http11.py), bounded as received and once inflated."""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import httptools

from statefun_faas.runtime.http.framing import (
    MAX_HEAD,
    AnswerTooLargeError,
    Headers,
    HttpFramingError,
    Message,
    StopReadingError,
)


@dataclass(frozen=True, slots=True)
class Answer:
    status: int
    headers: Headers  # names in lower case
    body: bytes
    keep_alive: bool


class AnswerParser(Message):
    """Parses one answer to a request; informational (1xx) answers are skipped; ``max_body`` (None: no limit)
    bounds the body as received and once inflated."""

    too_large = AnswerTooLargeError
    what = "answer"
    body_too_large = "the answer's body is larger than {} bytes"

    def __init__(self, max_body: int | None = None, max_head: int = MAX_HEAD) -> None:
        super().__init__(max_body, max_head)
        self._llhttp: httptools.HttpResponseParser = httptools.HttpResponseParser(self)
        self._head_left = max_head  # for the head, with the informational answers before it
        self._in_body = False
        self._until_end = False
        self.answer: Answer | None = None

    def feed(self, data: bytes) -> Answer | None:
        start = 0
        while start < len(data) and self.answer is None:
            if self._in_body:
                step = len(data) - start
            elif self._head_left > 0:
                step = min(len(data) - start, self._head_left)
                self._head_left -= step
            else:
                raise self._head_too_large()
            self._execute(data[start : start + step] if start or step < len(data) else data)
            start += step
        return self.answer

    def feed_eof(self) -> Answer | None:
        """The connection ended: an answer running to the end is complete now, any other is cut short."""
        if self.answer is None and self._in_body and self._until_end:
            self.answer = self._finish(self._llhttp.get_status_code(), keep_alive=False)
        return self.answer

    def on_message_begin(self) -> None:
        if self.answer is not None:  # bytes after the answer: the connection is out of step, not kept
            self.answer = Answer(self.answer.status, self.answer.headers, self.answer.body, keep_alive=False)
            raise StopReadingError

    def _done(self) -> bool:
        return self.answer is not None

    def on_headers_complete(self) -> None:
        status = self._llhttp.get_status_code()
        if status == 101:
            self._upgraded()
        if status < 200:
            return  # 100 Continue and friends: the real answer follows
        self._in_body = True
        length = self.headers.get("content-length")
        self._check(int(length) if length else 0)
        chunked = self.headers.get("transfer-encoding", "").lower().endswith("chunked")
        self._until_end = length is None and not chunked and status not in (204, 304)

    def on_message_complete(self) -> None:
        status = self._llhttp.get_status_code()
        if status < 200:
            self._clear()
            return
        self.answer = self._finish(status, self._llhttp.should_keep_alive())

    def _finish(self, status: int, keep_alive: bool) -> Answer:
        body = inflate(self.body() if self.parts else b"", self.headers.get("content-encoding", ""), self.max_body)
        return Answer(status, self.headers, body, keep_alive)


def inflate(body: bytes, encoding: str, limit: int | None) -> bytes:
    """A gzip or deflate body inflated to at most ``limit`` bytes (None: no limit)."""
    encoding = encoding.strip().lower()
    if encoding in ("", "identity"):
        return body
    if encoding in ("gzip", "x-gzip"):
        formats = [16 + zlib.MAX_WBITS]
    elif encoding == "deflate":
        formats = [zlib.MAX_WBITS, -zlib.MAX_WBITS]  # zlib-wrapped as the RFC says, or raw as some servers send
    else:
        raise HttpFramingError(f"unsupported Content-Encoding {encoding[:30]!r}")
    for wbits in formats:
        inflater = zlib.decompressobj(wbits)
        try:
            data = inflater.decompress(body, 0 if limit is None else limit + 1)
        except zlib.error as error:
            problem = str(error)
            continue
        if limit is not None and len(data) > limit:
            raise AnswerTooLargeError(f"the answer's body is larger than {limit} bytes once inflated")
        if inflater.eof:
            return data
        problem = "the stream is cut short"
    raise HttpFramingError(f"the compressed body does not inflate: {problem}")
