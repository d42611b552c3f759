"""The edge bounds the invocations (and state values) of one request, for every adapter."""

from __future__ import annotations

import json

import pytest

from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec
from statefun_faas.adapters.edge import DEFAULT_MAX_INVOCATIONS, Edge
from tests.adapters.conformance import FUNCTIONS, flood

MIB = 1024 * 1024
HINT = "lower maxNumBatchRequests in module.yaml or raise STATEFUN_FAAS_MAX_INVOCATIONS"


def test_millions_of_empty_invocations_are_refused_by_default() -> None:
    """4 million two-byte invocations (8 MB) ran for seconds; now the answer is 413 before any runs."""
    lines: list[str] = []
    edge = Edge.create(FUNCTIONS, "test", tokens=(), max_body_bytes=16 * MIB, request_log=lines.append)
    response = edge.handle_body(flood(4_000_000))
    assert (response.status, response.body.decode()) == (
        413,
        f"the request carries 4000000 invocations, over the limit of {DEFAULT_MAX_INVOCATIONS} per request; {HINT}\n",
    )
    record = json.loads(lines[-1])
    assert (record["status"], record["batch"]) == (413, 4_000_000)


def test_the_default_takes_the_batches_statefun_sends() -> None:
    """StateFun's default maxNumBatchRequests is 1,000 and its own examples use 10,000."""
    edge = Edge.create(FUNCTIONS, "test", tokens=(), request_log=None)
    assert edge.handle_body(flood(10_000)).status == 200
    assert edge.handle_body(flood(DEFAULT_MAX_INVOCATIONS)).status == 200
    assert edge.handle_body(flood(DEFAULT_MAX_INVOCATIONS + 1)).status == 413


def _recording() -> tuple[StatefulFunctions, list[int]]:
    functions, calls = StatefulFunctions(), []

    @functions.bind("conformance/counter", specs=[ValueSpec("count", IntType)])
    async def counter(context: Context, message: Message) -> None:
        calls.append(1)

    return functions, calls


@pytest.mark.parametrize("run", ["sync", "async"])
def test_over_the_bound_nothing_runs_and_up_to_it_everything_does(run: str) -> None:
    functions, calls = _recording()
    edge = Edge.create(functions, "test", tokens=(), max_invocations=5, request_log=None)

    def answer(body: bytes) -> tuple[int, bytes]:
        import asyncio

        response = edge.handle_body(body) if run == "sync" else asyncio.run(edge.handle_body_async(body))
        return response.status, response.body

    assert answer(flood(6)) == (
        413,
        f"the request carries 6 invocations, over the limit of 5 per request; {HINT}\n".encode(),
    )
    assert calls == []
    assert answer(flood(5))[0] == 200
    assert len(calls) == 5


def test_state_values_are_bounded_too() -> None:
    """A batch carries one value per registered state: millions of them are as hostile as invocations."""
    functions, calls = _recording()
    edge = Edge.create(functions, "test", tokens=(), max_invocations=5, request_log=None)
    response = edge.handle_body(flood(1, states=5))  # the counter's own state plus 5 empty ones
    assert (response.status, response.body) == (
        413,
        f"the request carries 6 state values, over the limit of 5 per request; {HINT}\n".encode(),
    )
    assert calls == []
    big = Edge.create(FUNCTIONS, "test", tokens=(), max_body_bytes=16 * MIB, request_log=None)
    assert b"4000001 state values" in big.handle_body(flood(1, states=4_000_000)).body


def test_bound_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("STATEFUN_FAAS_MAX_INVOCATIONS", raising=False)
    assert Edge.create(FUNCTIONS, "test").max_invocations == DEFAULT_MAX_INVOCATIONS
    monkeypatch.setenv("STATEFUN_FAAS_MAX_INVOCATIONS", " 7 ")
    assert Edge.create(FUNCTIONS, "test").max_invocations == 7
    assert Edge.create(FUNCTIONS, "test", max_invocations=9).max_invocations == 9  # the argument wins


@pytest.mark.parametrize("name", ["STATEFUN_FAAS_MAX_INVOCATIONS", "STATEFUN_FAAS_MAX_BODY_BYTES"])
@pytest.mark.parametrize("raw", ["0", "-5", "ten", "1e6"])
def test_a_bad_limit_in_the_environment_is_named(monkeypatch: pytest.MonkeyPatch, name: str, raw: str) -> None:
    monkeypatch.setenv(name, raw)
    with pytest.raises(ValueError, match=rf"^{name}='{raw}': give a positive whole number, or leave it unset for \d+$"):
        Edge.create(FUNCTIONS, "test")
