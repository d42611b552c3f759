"""The HTTP/1.1 framing of the runtime's server and client, fed bytes directly.

The hostile inputs come from a review of the runtime under attack: each once hung the event loop or
filled memory. Code that hung runs in its own interpreter with a deadline (tests/runtime/isolated.py).
"""

from __future__ import annotations

import gzip
import tracemalloc
import zlib

import pytest

from statefun_faas.runtime.http.answers import AnswerParser
from statefun_faas.runtime.http.framing import HttpFramingError, Request, RequestParser, RequestTooLargeError
from tests.runtime.isolated import run_isolated

CHUNKED_PUT = b"PUT /a/b/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"
CHUNKED_OK = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
MIB = 1024 * 1024


def requests(*chunks: bytes, max_body: int = 64) -> list[Request | str]:
    """What the parser makes of the chunks fed one after another: requests, then the error if one came."""
    parser, found = RequestParser(max_body), list[Request | str]()
    for chunk in chunks:
        parser.feed(chunk)
        while True:
            try:
                request = parser.next()
            except HttpFramingError as error:
                return [*found, f"{type(error).__name__}: {error}"]
            if request is None:
                break
            found.append(request)
    return found


def test_a_negative_chunk_size_is_refused_not_looped_on() -> None:
    # Once, this never returned: the request side looped forever on the event loop.
    printed = run_isolated(
        """
        from statefun_faas.runtime.http.framing import HttpFramingError, RequestParser
        p = RequestParser(1 << 20)
        p.feed(b'PUT /a/b/c HTTP/1.1\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n-6\\r\\n')
        try:
            print(p.next())
        except HttpFramingError as error:
            print(error)
        """
    )
    assert "chunk size" in printed


def test_a_negative_chunk_size_in_an_answer_is_refused_not_looped_on() -> None:
    printed = run_isolated(
        """
        from statefun_faas.runtime.http.answers import AnswerParser
        from statefun_faas.runtime.http.framing import HttpFramingError
        try:
            print(AnswerParser(None).feed(b'HTTP/1.1 200 OK\\r\\nTransfer-Encoding: chunked\\r\\n\\r\\n-6\\r\\n'))
        except HttpFramingError as error:
            print(error)
        """
    )
    assert "chunk size" in printed


def test_line_ends_alone_before_a_request_are_skipped_not_looped_on() -> None:
    # found by tests/fuzz/atheris_http.py in a first version of this framing: a head of line ends only
    printed = run_isolated(
        """
        from statefun_faas.runtime.http.framing import RequestParser
        p = RequestParser(256, 512)
        p.feed(b'\\r\\r\\n\\r\\n\\n')
        p.feed(b'\\r\\nGET /after HTTP/1.1\\r\\n\\r\\n')
        print(p.next().path)
        """
    )
    assert printed == "/after\n"


@pytest.mark.parametrize(
    ("framing", "expected"),
    [
        (b"7fffffff\r\n", "request body larger than 1048576 bytes"),  # a huge chunk, its bytes streaming in
        (b"1;", "the chunked body's framing is larger than"),  # a chunk extension without end
    ],
)
def test_a_chunked_body_is_bounded_before_it_is_kept(framing: bytes, expected: str) -> None:
    parser, refusal, sent = RequestParser(MIB), None, 0
    tracemalloc.start()
    try:
        parser.feed(CHUNKED_PUT + framing)
        while refusal is None and sent < 8 * MIB:
            parser.feed(b"x" * 65536)
            sent += 65536
            try:
                parser.next()
            except RequestTooLargeError as error:
                refusal = str(error)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refusal is not None, f"{sent} bytes fed, {peak} bytes kept at most, and no refusal"
    assert refusal.startswith(expected)
    assert sent <= 2 * MIB + 2 * 65536  # refused once its limits were passed, not at the end of the input
    assert peak < 4 * MIB


def test_an_endless_chunk_size_line_is_refused() -> None:
    assert requests(CHUNKED_PUT + b"1" * 100) == ["HttpFramingError: malformed HTTP/1.1 request: Chunk size overflow"]


def test_lengths_over_the_limits_are_refused_before_the_body_or_the_rest_of_the_head() -> None:
    assert requests(b"PUT /x HTTP/1.1\r\nContent-Length: 65\r\n\r\n") == [
        "RequestTooLargeError: request body larger than 64 bytes"
    ]
    assert requests(b"GET / HTTP/1.1\r\nX-Long: " + b"a" * 70000) == [
        "RequestTooLargeError: request head larger than 64 KiB"
    ]
    assert requests(b"PUT /x HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n40\r\n" + b"x" * 64 + b"\r\n1\r\nx") == [
        "RequestTooLargeError: request body larger than 64 bytes"
    ]


def test_smuggling_shapes_are_refused() -> None:
    for head in (
        b"PUT / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
        b"PUT / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 4\r\n\r\nabcd",
        b"PUT / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
        b"PUT / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
        b"PUT / HTTP/1.1\r\nbad header\r\n\r\n",
    ):
        [refusal] = requests(head)
        assert isinstance(refusal, str)
        assert refusal.startswith("HttpFramingError: malformed HTTP/1.1 request: "), head


def test_pipelined_requests_split_anywhere_come_out_whole_and_in_order() -> None:
    stream = (
        b"\r\nPUT /a/b/c%20d?x=1 HTTP/1.1\r\nContent-Type: application/vnd.t/x\r\nContent-Length: 2\r\n\r\nhi"
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3\r\nabc\r\n2;x=y\r\nde\r\n"
        b"0\r\n\r\nGET /dropped HTTP/1.1\r\n\r\n"
    )
    for cut in range(1, len(stream)):
        one, chunked = requests(stream[:cut], stream[cut:])
        headers = {"content-type": "application/vnd.t/x", "content-length": "2"}
        assert one == Request("PUT", "/a/b/c d", headers, b"hi", True, "x=1")
        assert isinstance(chunked, Request)
        assert (chunked.method, chunked.path, chunked.body) == ("POST", "/c", b"abcde")
        assert not chunked.keep_alive  # a chunked request's end is llhttp's to find: the connection closes after it


def test_connection_close_http_1_0_and_upgrades_end_the_connection_after_that_request() -> None:
    closing = requests(b"GET /1 HTTP/1.1\r\nConnection: close\r\n\r\nGET /2 HTTP/1.1\r\n\r\n")
    assert [(r.path, r.keep_alive) for r in closing if isinstance(r, Request)] == [("/1", False)]
    assert len(closing) == 1
    [old] = requests(b"GET /h HTTP/1.0\r\n\r\n")
    assert isinstance(old, Request)
    assert not old.keep_alive
    [connect] = requests(b"CONNECT example.com:443 HTTP/1.1\r\n\r\nGET /after HTTP/1.1\r\n\r\n")
    assert isinstance(connect, Request)
    assert (connect.method, connect.keep_alive) == ("CONNECT", False)


def test_an_upgrade_is_ignored_and_the_body_read() -> None:
    # curl --http2 on http:// sends this with its PUTs; llhttp alone would pass the body to the new protocol
    offer = b"Connection: Upgrade, HTTP2-Settings\r\nUPGRADE: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n"
    put, get = requests(b"PUT /a/b/c HTTP/1.1\r\n" + offer + b"Content-Length: 3\r\n\r\nxyzGET /d HTTP/1.1\r\n\r\n")
    assert isinstance(put, Request)
    assert (put.path, put.body, put.keep_alive) == ("/a/b/c", b"xyz", True)
    assert "upgrade" not in put.headers
    assert isinstance(get, Request)
    assert get.path == "/d"


def test_paths_are_utf8_whether_sent_raw_or_percent_encoded() -> None:
    raw, encoded, absolute, not_utf8 = requests(
        "PUT /ns/t/café?x=é HTTP/1.1\r\n\r\n".encode(),
        b"PUT /ns/t/caf%C3%A9 HTTP/1.1\r\n\r\n",
        b"PUT http://localhost:8090/ns/t/caf%C3%A9 HTTP/1.1\r\n\r\n",
        b"PUT /ns/t/caf%E9 HTTP/1.1\r\n\r\n",
    )
    assert [r.path for r in (raw, encoded, absolute) if isinstance(r, Request)] == ["/ns/t/café"] * 3
    assert not_utf8 == (
        "HttpFramingError: the request path '/ns/t/caf%E9' is not UTF-8 (byte 0xe9); "
        "send the path's text as UTF-8, percent-encoded or not"
    )
    [latin1] = requests(b"PUT /ns/t/caf\xe9 HTTP/1.1\r\n\r\n")
    assert isinstance(latin1, str)
    assert "is not UTF-8" in latin1


def answer(*chunks: bytes, max_body: int | None = None, eof: bool = False) -> object:
    parser = AnswerParser(max_body)
    try:
        for chunk in chunks:
            if (done := parser.feed(chunk)) is not None:
                return done
        return parser.feed_eof() if eof else None
    except HttpFramingError as error:
        return f"{type(error).__name__}: {error}"


def test_answers_framed_every_way() -> None:
    packed = gzip.compress(b"inflated body")
    chunks = b"".join(b"%x\r\n%s\r\n" % (len(part), part) for part in (packed[:5], packed[5:])) + b"0\r\n\r\n"
    gzipped = answer(CHUNKED_OK[:-2] + b"Content-Encoding: gzip\r\n\r\n" + chunks)
    assert getattr(gzipped, "body", None) == b"inflated body"
    interim = answer(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhi")
    assert (getattr(interim, "status", 0), getattr(interim, "body", b"")) == (200, b"hi")
    to_the_end = answer(b"HTTP/1.0 503 Busy\r\nContent-Type: text/plain\r\n\r\ncome", b" back", eof=True)
    assert (getattr(to_the_end, "body", b""), getattr(to_the_end, "keep_alive", True)) == (b"come back", False)
    assert answer(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nhalf", eof=True) is None  # cut short
    trailing = answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nhiHTTP/1.1 200 OK\r\n")
    assert (getattr(trailing, "body", b""), getattr(trailing, "keep_alive", True)) == (b"hi", False)
    deflated = zlib.compress(b"deflated")
    raw_deflate = deflated[2:-4]
    for body in (deflated, raw_deflate):
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(body)
        assert getattr(answer(head + body), "body", None) == b"deflated"


def test_answers_over_the_limits_are_refused_before_they_are_kept() -> None:
    assert answer(b"HTTP/1.1 200 OK\r\nContent-Length: 2000\r\n\r\n", max_body=1000) == (
        "AnswerTooLargeError: the answer's body is larger than 1000 bytes"
    )
    assert answer(CHUNKED_OK + b"7fffffff\r\n" + b"x" * 1001, max_body=1000) == (
        "AnswerTooLargeError: the answer's body is larger than 1000 bytes"
    )
    assert answer(b"HTTP/1.1 200 OK\r\nX: " + b"a" * 70000) == "AnswerTooLargeError: answer head larger than 64 KiB"
    for upgrade in (b"Upgrade: x\r\nConnection: upgrade\r\n", b""):
        assert answer(b"HTTP/1.1 101 Switching Protocols\r\n" + upgrade + b"\r\n") == (
            "HttpFramingError: the answer switches protocols; only HTTP/1.1 is spoken here"
        )


def test_a_compressed_answer_is_inflated_only_up_to_the_limit() -> None:
    bomb = gzip.compress(bytes(64 * MIB))  # 64 KiB on the wire
    head = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(bomb)
    tracemalloc.start()
    try:
        refused = answer(head + bomb, max_body=MIB)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused == "AnswerTooLargeError: the answer's body is larger than 1048576 bytes once inflated"
    assert peak < 8 * MIB
    cut = gzip.compress(b"abc" * 1000)[:-20]
    truncated = b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: %d\r\n\r\n" % len(cut) + cut
    assert answer(truncated) == "HttpFramingError: the compressed body does not inflate: the stream is cut short"
