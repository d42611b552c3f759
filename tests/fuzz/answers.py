"""What a fuzzed request may be answered: exactly the rows of the HTTP edge's status table."""

from __future__ import annotations

from google.protobuf.message import DecodeError

from statefun_faas import _wire
from statefun_faas.adapters.edge import OCTET_STREAM, TEXT, EdgeResponse
from tests.adapters.conformance import COUNTER_OK, GOOD, HANDLER
from tests.fuzz.registry import declared

#: Every status the table of decisions.md "HTTP edge" lists.
TABLE = frozenset({200, 400, 401, 404, 405, 413, 415, 500})
#: "short text": no error answer is longer than this, whatever the request echoed.
SHORT = 1024

#: A request whose exact answer is known: sent after hostile input to show the process still serves.
PROBE = COUNTER_OK
PROBE_QUERY = f"token={GOOD}"
PROBE_ANSWER = HANDLER.handle_sync(COUNTER_OK)


def check(status: int, content_type: str | None, body: bytes, *, allowed: frozenset[int] = TABLE) -> None:
    """A table answer: 200 octet-stream with a FromFunction that parses, or short plain text."""
    assert status in allowed, f"status {status} is not in the table ({sorted(allowed)}): {body[:200]!r}"
    if content_type == OCTET_STREAM:
        assert status == 200, f"octet-stream with status {status}"
        _wire.FromFunction.FromString(body)  # empty for a batch without invocations: still a FromFunction
        return
    assert content_type == TEXT, f"status {status} with content type {content_type!r}"
    assert len(body) <= SHORT, f"status {status}: {len(body)} bytes of text is not short: {body[:200]!r}..."
    assert b"Traceback" not in body, f"a traceback leaked into the answer: {body[:300]!r}"
    body.decode("utf-8")


def check_edge(response: EdgeResponse, *, allowed: frozenset[int] = TABLE) -> None:
    check(response.status, response.content_type, response.body, allowed=allowed)


def check_scoped(request: bytes, reply: bytes) -> None:
    """A 200 answer touches only states its target declares, each with its declared type."""
    batch = _wire.ToFunction.FromString(request).invocation
    target = batch.target
    states = declared(f"{target.namespace}/{target.type}")
    received = {state.state_name for state in batch.state}
    answer = _wire.FromFunction.FromString(reply)
    if answer.HasField("incomplete_invocation_context"):
        missing = {spec.state_name: spec.type_typename for spec in answer.incomplete_invocation_context.missing_values}
        assert missing == {name: kind for name, kind in states.items() if name not in received}
        return
    for mutation in answer.invocation_result.state_mutations:
        assert mutation.state_name in states, f"{mutation.state_name!r} is not a state of {target}"
        if mutation.mutation_type == _wire.FromFunction.PersistedValueMutation.MutationType.MODIFY:
            assert mutation.state_value.typename == states[mutation.state_name]


def parses(body: bytes) -> bool:
    try:
        _wire.ToFunction.FromString(body)
    except DecodeError:
        return False
    return True
