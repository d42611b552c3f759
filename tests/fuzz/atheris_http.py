"""Atheris (libFuzzer, coverage-guided) target for the local runtime's HTTP/1.1 framing: the server's requests
(statefun_faas/runtime/http/framing.py) and the client's answers (answerparser.py).

Runs alone, from the repository root::

    python tests/fuzz/atheris_http.py --seconds 60          # a time budget
    python tests/fuzz/atheris_http.py -runs=100000          # any libFuzzer flag works too

An input's first byte picks the direction (bit 0: request or answer) and how the rest is cut into the
pieces a socket would deliver (the other bits: the piece size). Oracles: only ``HttpFramingError`` comes
out; no request or answer body is over the limit; the same bytes fed whole and fed in pieces give the same
requests (or answer) and the same error, and pieces never keep a connection the whole feed would not; a
hang runs past libFuzzer's ``-timeout`` and is a crash too. Coverage guides the Python side (our bounds,
the UTF-8 path, the one-message-at-a-time feeding); llhttp itself is C, fuzzed upstream.
"""

from __future__ import annotations

import gzip
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.append(str(Path(__file__).resolve().parents[2]))  # run as a script: make `tests` importable

with atheris.instrument_imports(include=["statefun_faas.runtime.http.framing", "statefun_faas.runtime.http.answers"]):
    from statefun_faas.runtime.http.answers import AnswerParser
    from statefun_faas.runtime.http.framing import HttpFramingError, RequestParser

from tests.fuzz.libfuzzer import libfuzzer_arguments

MAX_BODY, MAX_HEAD = 256, 512
REQUEST, ANSWER = 0, 1
SEEDS = {
    REQUEST: [
        b"PUT /ns/greeter/bob HTTP/1.1\r\nContent-Type: application/vnd.ns/T\r\nContent-Length: 5\r\n\r\nhello"
        b"GET /greetings HTTP/1.1\r\nHost: x\r\n\r\n",
        b"POST /c HTTP/1.1\r\nTransfer-Encoding: chunked\r\nExpect: 100-continue\r\n\r\n3;e=1\r\nabc\r\n0\r\n\r\n",
        "PUT /ns/t/café?q=é HTTP/1.1\r\nContent-Length: 0\r\n\r\nPUT /ns/t/caf%C3%A9 HTTP/1.0\r\n\r\n".encode(),
        b"PUT http://h:1/a/b/c HTTP/1.1\r\nConnection: close\r\n\r\n",
        b"GET / HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n",
        b"PUT /a/b/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-6\r\n",
        b"PUT /a/b/c HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n7fffffff\r\nxxxx",
    ],
    ANSWER: [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: 3\r\n\r\nabc",
        b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nContent-Encoding: gzip\r\nContent-Length: 22\r\n\r\n" + gzip.compress(b"ab", mtime=0),
        b"HTTP/1.0 503 Busy\r\nContent-Type: text/plain\r\n\r\ncome back later",
        b"HTTP/1.1 204 No Content\r\n\r\n",
        b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n-6\r\n",
    ],
}


def pieces(stream: bytes, size: int) -> list[bytes]:
    return [stream[start : start + size] for start in range(0, len(stream), size)] or [b""]


def requests(chunks: list[bytes]) -> list[object]:
    """The requests the chunks make, then the error's class and text if one came."""
    parser, found = RequestParser(MAX_BODY, MAX_HEAD), list[object]()
    for chunk in chunks:
        parser.feed(chunk)
        while True:
            try:
                request = parser.next()
            except HttpFramingError as error:
                return [*found, (type(error).__name__, str(error))]
            if request is None:
                break
            assert len(request.body) <= MAX_BODY
            found.append(request)
    return found


def answer(chunks: list[bytes]) -> tuple[object, bool]:
    """The answer the chunks make (the connection ending after them), or the error's class and text; and
    whether the connection is kept (the client closes it when a byte arrives after the answer)."""
    parser = AnswerParser(MAX_BODY, MAX_HEAD)
    try:
        for index, chunk in enumerate(chunks):
            if (done := parser.feed(chunk)) is not None:
                kept = done.keep_alive and not any(chunks[index + 1 :])
                break
        else:
            done, kept = parser.feed_eof(), False
    except HttpFramingError as error:
        return (type(error).__name__, str(error)), False
    if done is None:
        return None, False
    assert len(done.body) <= MAX_BODY
    return (done.status, done.headers, done.body), kept


def test_one_input(data: bytes) -> None:
    if not data:
        return
    direction, size, stream = data[0] & 1, (data[0] >> 1) + 1, data[1:]
    if direction == REQUEST:
        whole, cut = requests([stream]), requests(pieces(stream, size))
        assert whole == cut, f"fed whole: {whole!r}\nfed in pieces of {size}: {cut!r}"
        return
    (one, one_kept), (many, many_kept) = answer([stream]), answer(pieces(stream, size))
    assert one == many, f"fed whole: {one!r}\nfed in pieces of {size}: {many!r}"
    # llhttp skips stray line ends after an answer that come with it; later ones close the connection
    assert one_kept or not many_kept, f"kept only when fed in pieces of {size}: {many!r}"


def seeds(folder: Path) -> None:
    for direction, streams in SEEDS.items():
        for index, stream in enumerate(streams):
            for size in (0, 3, 127):
                (folder / f"{direction}-{index}-{size}").write_bytes(bytes([size << 1 | direction]) + stream)


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="statefun-faas-atheris-http-") as corpus:
        atheris.Setup(libfuzzer_arguments(sys.argv, Path(corpus), seeds), test_one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
