"""The fast first layer of conformance: answers recorded from apache-flink-statefun 3.3.0.

Needs only protobuf and pytest (CI runs it on the lowest supported protobuf too); the live
comparison with the reference is tests/reference. Regenerate with ``python -m tests.golden.regenerate``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from statefun_faas import RequestReplyHandler
from tests.reference.functions import functions

VECTORS: list[dict[str, Any]] = json.loads((Path(__file__).parent / "vectors.json").read_text(encoding="utf-8"))
HANDLER = RequestReplyHandler(functions)


@pytest.mark.parametrize("vector", VECTORS, ids=[v["name"] for v in VECTORS])
def test_answer_matches_the_reference_recording(vector: dict[str, Any]) -> None:
    request = bytes.fromhex(vector["request"])
    if "raises" in vector:
        with pytest.raises(Exception):  # noqa: B017, PT011 (the reference's exception types differ from ours)
            HANDLER.handle_sync(request)
    else:
        assert HANDLER.handle_sync(request).hex() == vector["response"]


def test_vectors_cover_successes_missing_state_and_errors() -> None:
    responses = [v.get("response", "") for v in VECTORS]
    assert len(VECTORS) >= 36
    assert sum(r.startswith("a206") for r in responses) > 50  # invocation_result
    assert sum(r.startswith("aa06") for r in responses) >= 3  # incomplete_invocation_context
    assert sum("raises" in v for v in VECTORS) >= 2
