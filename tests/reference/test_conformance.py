"""Byte-for-byte conformance with apache-flink-statefun 3.3.0, live, from its own virtual environment."""

from __future__ import annotations

import collections
import os

import pytest

from statefun_faas import RequestReplyHandler, _wire
from tests.reference import cases
from tests.reference.client import Outcome, Worker, our_outcome
from tests.reference.corpus import Corpus
from tests.reference.functions import functions

pytestmark = pytest.mark.reference

HANDLER = RequestReplyHandler(functions)
CASES = cases.all_cases()
# another seed explores other combinations: STATEFUN_FAAS_CONFORMANCE_SEED=<n> pytest -m reference
SEED = int(os.environ.get("STATEFUN_FAAS_CONFORMANCE_SEED", "20231126"))


def explain(request: bytes, ours: Outcome, theirs: Outcome) -> str:
    def show(outcome: Outcome) -> str:
        if outcome.raised:
            return f"raised {outcome.payload.decode()}"
        return str(_wire.FromFunction.FromString(outcome.payload))

    return f"request:\n{_wire.ToFunction.FromString(request)}\nours: {show(ours)}\nreference: {show(theirs)}"


@pytest.mark.parametrize("name", list(CASES))
def test_named_case_matches_reference(reference: Worker, name: str) -> None:
    request = CASES[name]
    ours, theirs = our_outcome(HANDLER, request), reference.handle(request)
    assert ours.same_as(theirs), explain(request, ours, theirs)


def test_batch_of_1000_invocations_matches_reference(reference: Worker) -> None:
    request = cases.batch(1000)
    ours, theirs = our_outcome(HANDLER, request), reference.handle(request)
    assert not ours.raised
    assert ours.payload == theirs.payload
    result = _wire.FromFunction.FromString(ours.payload).invocation_result
    assert len(result.outgoing_messages) == len([n for n in range(1000) if n % 7 == 0 and n % 2])
    reads = [e.argument.value for e in result.outgoing_egresses if e.argument.value.startswith(b'["get"')]
    assert reads == [f'["get", "count", {n - 1 if n else None}]'.replace("None", "null").encode() for n in range(1000)]


@pytest.mark.slow
def test_random_corpus_matches_reference(reference: Worker) -> None:
    requests = Corpus(SEED).requests(1200)
    kinds: collections.Counter[str] = collections.Counter()
    for request in requests:
        ours, theirs = our_outcome(HANDLER, request), reference.handle(request)
        assert ours.same_as(theirs), explain(request, ours, theirs)
        kinds[
            "raised" if ours.raised else _wire.FromFunction.FromString(ours.payload).WhichOneof("response") or "empty"
        ] += 1
    assert len(set(requests)) >= 1000
    # the corpus exercises every outcome, mostly successful batches
    assert kinds["invocation_result"] > 600
    assert kinds["incomplete_invocation_context"] > 50
    assert kinds["raised"] > 10
    assert kinds["empty"] > 10
