"""One request set that every adapter must answer identically.

An adapter test sends each :data:`CASES` entry through its platform's real request path and
checks the answer with :func:`check`. Tokens are configured as :data:`TOKENS`, the limits as
:data:`MAX_BODY` and :data:`MAX_INVOCATIONS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statefun_faas import IntType, RequestReplyHandler, StringType
from tests.adapters.conformance_functions import make_functions
from tests.builders import Request, typed

TOKENS = ("current-token-0123456789abcdef", "next-token-fedcba9876543210")
GOOD = TOKENS[0]
MAX_BODY = 64 * 1024  # adapters under test are created with this limit
MAX_INVOCATIONS = 1000  # ... and this one


FUNCTIONS = make_functions()
HANDLER = RequestReplyHandler(FUNCTIONS)

COUNTER_OK = Request("conformance/counter", "a").state("count", typed(IntType, 2)).message(typed(IntType, 3)).bytes()
COUNTER_INCOMPLETE = Request("conformance/counter", "a").message(typed(IntType, 3)).bytes()
WRONG_STATE_TYPE = (
    Request("conformance/counter", "a").state("count", typed(StringType, "x")).message(typed(IntType, 1)).bytes()
)
UNKNOWN = Request("conformance/nobody", "a").message(typed(IntType, 1)).bytes()
USER_ERROR = Request("conformance/fails", "z9").message(typed(IntType, 1)).bytes()


def _varint(value: int) -> bytes:
    out = bytearray()
    while value > 0x7F:
        out.append(value & 0x7F | 0x80)
        value >>= 7
    return bytes(out) + bytes([value])


def flood(invocations: int, states: int = 0) -> bytes:
    """A counter request with ``invocations`` empty invocations (and ``states`` empty state entries).

    Each costs two bytes on the wire (field tag, zero length): the cheapest way to ask for work.
    """
    batch = Request("conformance/counter", "a").state("count", typed(IntType, 2)).proto().invocation
    payload = batch.SerializeToString() + b"\x1a\x00" * invocations + b"\x12\x00" * states
    return _varint(100 << 3 | 2) + _varint(len(payload)) + payload  # ToFunction.invocation


@dataclass(frozen=True)
class Case:
    name: str
    method: str
    path: str
    query: str
    body: bytes
    status: int
    #: for 200: the exact protocol answer; otherwise a phrase the text body must contain
    expect: bytes = b""
    headers: dict[str, str] = field(default_factory=lambda: {"Content-Type": "application/octet-stream"})


CASES = [
    Case("success", "POST", "/statefun", f"token={GOOD}", COUNTER_OK, 200, HANDLER.handle_sync(COUNTER_OK)),
    Case(
        "incomplete context",
        "POST",
        "/counter",
        f"token={GOOD}",
        COUNTER_INCOMPLETE,
        200,
        HANDLER.handle_sync(COUNTER_INCOMPLETE),
    ),
    Case(
        "rotated token in path", "POST", f"/t/{TOKENS[1]}/counter", "", COUNTER_OK, 200, HANDLER.handle_sync(COUNTER_OK)
    ),
    Case("health", "GET", "/healthz", "", b"", 200, b"ok"),
    Case("wrong method", "PUT", "/statefun", f"token={GOOD}", COUNTER_OK, 405, b"POST"),
    Case("missing token", "POST", "/statefun", "", COUNTER_OK, 401, b"unauthorized"),
    Case("wrong token", "POST", "/statefun", "token=nope", COUNTER_OK, 401, b"unauthorized"),
    Case("too large", "POST", "/statefun", f"token={GOOD}", b"\x00" * (MAX_BODY + 1), 413, b"over the limit"),
    Case(
        "invocations at the limit",
        "POST",
        "/statefun",
        f"token={GOOD}",
        flood(MAX_INVOCATIONS),
        200,
        HANDLER.handle_sync(flood(MAX_INVOCATIONS)),
    ),
    Case(
        "too many invocations",
        "POST",
        "/statefun",
        f"token={GOOD}",
        flood(MAX_INVOCATIONS + 1),
        413,
        b"carries 1001 invocations, over the limit of 1000 per request; lower maxNumBatchRequests in module.yaml "
        b"or raise STATEFUN_FAAS_MAX_INVOCATIONS",
    ),
    Case("malformed protobuf", "POST", "/statefun", f"token={GOOD}", b"\xff\xfe\xfd", 400, b"bad request"),
    Case("no invocation", "POST", "/statefun", f"token={GOOD}", b"", 400, b"no invocation"),
    Case("unknown function", "POST", "/statefun", f"token={GOOD}", UNKNOWN, 404, b"conformance/nobody"),
    Case("wrong state type", "POST", "/statefun", f"token={GOOD}", WRONG_STATE_TYPE, 500, b"io.statefun.types/string"),
    Case("user code raised", "POST", "/statefun", f"token={GOOD}", USER_ERROR, 500, b"conformance/fails"),
]


def check(case: Case, status: int, content_type: str | None, body: bytes) -> None:
    """Assert that an adapter answered ``case`` as the HTTP edge's status table says."""
    assert status == case.status, f"{case.name}: status {status}, expected {case.status}: {body[:200]!r}"
    if status == 200 and case.method == "POST":
        assert content_type == "application/octet-stream", f"{case.name}: content type {content_type!r}"
        assert body == case.expect, f"{case.name}: body differs from the handler's own answer"
    else:
        assert case.expect in body, f"{case.name}: {case.expect!r} not in {body[:200]!r}"
        assert b"Traceback" not in body, f"{case.name}: a traceback leaked into the body"
