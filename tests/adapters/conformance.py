"""One request set that every adapter must answer identically.

An adapter test sends each :data:`CASES` entry through its platform's real request path and
checks the answer with :func:`check`. Tokens are configured as :data:`TOKENS`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from statefun_faas import (
    Context,
    IntType,
    Message,
    RequestReplyHandler,
    StatefulFunctions,
    StringType,
    ValueSpec,
    message_builder,
)
from tests.builders import Request, typed

TOKENS = ("current-token-0123456789abcdef", "next-token-fedcba9876543210")
GOOD = TOKENS[0]
MAX_BODY = 64 * 1024  # adapters under test are created with this limit


def make_functions() -> StatefulFunctions:
    functions = StatefulFunctions()

    @functions.bind("conformance/counter", specs=[ValueSpec("count", IntType)])
    def counter(context: Context, message: Message) -> None:
        context.storage.count = (context.storage.count or 0) + (message.as_int() or 0)
        if context.caller is not None:
            context.send(message_builder(context.caller.typename, context.caller.id, int_value=context.storage.count))

    @functions.bind("conformance/fails")
    def fails(context: Context, message: Message) -> None:
        raise RuntimeError("user code failed on purpose")

    return functions


FUNCTIONS = make_functions()
HANDLER = RequestReplyHandler(FUNCTIONS)

COUNTER_OK = Request("conformance/counter", "a").state("count", typed(IntType, 2)).message(typed(IntType, 3)).bytes()
COUNTER_INCOMPLETE = Request("conformance/counter", "a").message(typed(IntType, 3)).bytes()
WRONG_STATE_TYPE = (
    Request("conformance/counter", "a").state("count", typed(StringType, "x")).message(typed(IntType, 1)).bytes()
)
UNKNOWN = Request("conformance/nobody", "a").message(typed(IntType, 1)).bytes()
USER_ERROR = Request("conformance/fails", "z9").message(typed(IntType, 1)).bytes()


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
