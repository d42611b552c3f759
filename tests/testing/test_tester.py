"""The router's semantics through the in-memory tester (no HTTP, in-memory SQLite)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from statefun_faas import IntType, StringType
from statefun_faas.runtime.records import Address, Envelope, Value
from statefun_faas.testing import FunctionTester
from tests.runtime.apps import EGRESS, functions


@pytest.fixture
def tester() -> Iterator[FunctionTester]:
    with FunctionTester(functions) as tester:
        yield tester


def counts(tester: FunctionTester) -> list[str]:
    return [payload.decode() for payload in tester.take_egress(EGRESS, "counts")]


def test_state_survives_between_messages_and_ingress_has_no_caller(tester: FunctionTester) -> None:
    for text in ("a", "b", "c"):
        tester.send("test/counter", "bob", text, StringType)
    assert counts(tester) == ["bob:1:a:-", "bob:2:b:-", "bob:3:c:-"]
    assert tester.state("test/counter", "bob", "count", IntType) == 3
    assert tester.state("test/counter", "alice", "count", IntType) is None
    assert tester.counters.registrations == 1


def test_function_to_function_message_carries_the_caller(tester: FunctionTester) -> None:
    tester.send("test/forwarder", "x", "hi")
    assert counts(tester) == ["x:1:hi:test/forwarder/x"]


def test_delayed_message_fires_after_its_delay_with_the_sender_as_caller(tester: FunctionTester) -> None:
    tester.send("test/timer", "t", json.dumps({"after": 5, "text": "later"}))
    tester.advance(4.9)
    assert counts(tester) == []
    tester.advance(0.2)
    assert counts(tester) == ["t:1:later:test/timer/t"]
    assert tester.pending_delayed() == 0


def test_cancellation_token_cancels_only_the_senders_message(tester: FunctionTester) -> None:
    tester.send("test/timer", "a", json.dumps({"after": 1, "token": "k", "text": "from-a"}))
    tester.send("test/timer", "b", json.dumps({"after": 1, "token": "k", "text": "from-b"}))
    tester.send("test/timer", "a", json.dumps({"cancel": "k"}))
    tester.advance(2)
    assert counts(tester) == ["b:1:from-b:test/timer/b"]
    tester.send("test/timer", "a", json.dumps({"cancel": "unknown"}))  # best effort: a no-op
    assert tester.dead_letters() == []


def test_send_and_cancel_in_one_batch(tester: FunctionTester) -> None:
    def command(**fields: object) -> Envelope:
        return Envelope(
            Address("test/timer", "a"),
            Value(StringType.typename, StringType.serializer().serialize(json.dumps(fields))),
        )

    tester.send_raw(
        command(after=1, token="k", text="no"), command(cancel="k"), command(after=1, token="k", text="yes")
    )
    assert tester.counters.batches == 1
    tester.advance(1)
    assert counts(tester) == ["a:1:yes:test/timer/a"]


def test_duplicate_pending_token_dead_letters_the_batch_and_the_address_continues(tester: FunctionTester) -> None:
    tester.send("test/timer", "a", json.dumps({"after": 1, "token": "k", "text": "one"}))
    tester.send("test/timer", "a", json.dumps({"after": 1, "token": "k", "text": "two"}))
    letters = tester.dead_letters()
    assert len(letters) == 1
    assert "already pending" in letters[0].reason
    tester.advance(1)
    assert counts(tester) == ["a:1:one:test/timer/a"]
    tester.send("test/timer", "a", json.dumps({"after": 1, "token": "k", "text": "three"}))  # fired: free again
    tester.advance(1)
    assert counts(tester) == ["a:2:three:test/timer/a"]


def test_expire_after_write_and_after_invoke(tester: FunctionTester) -> None:
    tester.send("test/ttl", "x", "set")
    tester.advance(6)
    tester.send("test/ttl", "x", "read")  # refreshes only the after-invoke state
    tester.advance(6)
    tester.send("test/ttl", "x", "read")
    assert [p.decode() for p in tester.take_egress(EGRESS, "ttl")] == ["w|t", "w|t", "None|t"]
    tester.advance(11)
    assert tester.state("test/ttl", "x", "touched") is None


def test_failing_function_dead_letters_and_other_messages_flow(tester: FunctionTester) -> None:
    tester.send("test/failing", "f", "boom")
    tester.send("test/failing", "f", "fine")
    [letter] = tester.dead_letters()
    assert "RuntimeError: boom" in letter.reason
    assert letter.envelope.target.id == "f"
    assert counts(tester) == ["ok:fine"]


def test_a_hanging_async_function_is_dead_lettered_after_the_call_timeout() -> None:
    with FunctionTester(functions, call_timeout=0.05) as tester:
        tester.send("test/slow", "s", "hang")
        tester.send("test/slow", "s", "fine")
        [letter] = tester.dead_letters()
        assert "call timeout" in letter.reason
        assert counts(tester) == ["slow:fine"]


def test_unknown_function_type_is_dead_lettered(tester: FunctionTester) -> None:
    tester.send("test/nobody", "n", "hello")
    [letter] = tester.dead_letters()
    assert "test/nobody" in letter.reason


def test_replay_moves_dead_letters_back(tester: FunctionTester) -> None:
    tester.send("test/nobody", "n", "hello")
    [letter] = tester.dead_letters()
    assert tester.store.replay([letter.seq]) == [letter.envelope.target]
    assert tester.dead_letters() == []
    assert tester.store.inbox_size() == 1


def test_the_tester_needs_neither_aiohttp_nor_yaml() -> None:
    import subprocess
    import sys

    code = "import sys, statefun_faas.testing; print(sorted(m for m in ('aiohttp', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
