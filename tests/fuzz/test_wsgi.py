"""WSGI: arbitrary environ dictionaries (keys dropped, odd lengths, short or endless input)."""

from __future__ import annotations

import io
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from statefun_faas.adapters.wsgi import wsgi_app
from tests.adapters.conformance import MAX_BODY, TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER, PROBE_QUERY, check
from tests.fuzz.profiles import fuzz
from tests.fuzz.registry import FUNCTIONS
from tests.fuzz.requests import bodies, lengths, methods, paths, queries

APP = wsgi_app(FUNCTIONS, tokens=TOKENS, max_body_bytes=MAX_BODY)
#: Keys PEP 3333 lets a server leave out or leave empty (wsgi.input is always there).
OPTIONAL = ["REQUEST_METHOD", "PATH_INFO", "QUERY_STRING", "CONTENT_LENGTH", "wsgi.input_terminated"]


class Endless(io.RawIOBase):
    """An input stream that never ends: the app must stop reading at its limit."""

    def readable(self) -> bool:
        return True

    def readinto(self, buffer: Any) -> int:
        buffer[:] = b"\x00" * len(buffer)
        return len(buffer)


def call(environ: dict[str, Any]) -> tuple[int, str | None, bytes]:
    started: list[tuple[str, list[tuple[str, str]]]] = []

    def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None, /) -> Any:
        started.append((status, headers))
        return started.append  # the legacy write() callable; the app never uses it

    body = b"".join(APP(environ, start_response))
    ((status, headers),) = started
    assert status.split(" ", 1)[0].isdigit(), status
    fields = dict(headers)
    assert fields["Content-Length"] == str(len(body))
    return int(status.split(" ", 1)[0]), fields["Content-Type"], body


def environ_for(
    method: str, path: str, query: str, length: str | None, stream: Any, terminated: bool
) -> dict[str, Any]:
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method,
        "PATH_INFO": path.encode("utf-8").decode("latin-1"),  # how servers hand the path over
        "QUERY_STRING": query,
        "wsgi.input": stream,
        "wsgi.input_terminated": terminated,
        "SERVER_PROTOCOL": "HTTP/1.1",
    }
    if length is not None:
        environ["CONTENT_LENGTH"] = length
    return environ


def probe() -> None:
    environ = environ_for("POST", "/", PROBE_QUERY, str(len(PROBE)), io.BytesIO(PROBE), False)
    assert call(environ)[2] == PROBE_ANSWER


@fuzz
@given(
    methods,
    paths,
    queries,
    lengths,
    bodies,
    st.booleans(),
    st.booleans(),
    st.lists(st.sampled_from(OPTIONAL), max_size=3),
)
def test_any_environ_gets_a_table_answer(
    method: str,
    path: str,
    query: str,
    length: str | None,
    body: bytes,
    terminated: bool,
    endless: bool,
    dropped: list[str],
) -> None:
    stream = Endless() if endless else io.BytesIO(body)
    environ = environ_for(method, path, query, length, stream, terminated)
    for key in dropped:
        environ.pop(key, None)
    check(*call(environ))
    probe()
