"""docs/migration.md: its before/after snippets and its commands do what the page says."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

from statefun_faas import IntType
from tests.builders import Request, typed
from tests.golden.regenerate import VECTORS, requests
from tests.reference.client import Worker, reference_python

pytestmark = pytest.mark.reference

ROOT = Path(__file__).resolve().parents[2]
PAGE = (ROOT / "docs" / "migration.md").read_text(encoding="utf-8")
BEFORE_SNIPPET, AFTER_SNIPPET = re.findall(r"```python\n(.*?)```", PAGE, flags=re.DOTALL)[:2]
REQUESTS = [
    Request("example/counter", "a").state("count", typed(IntType, 2)).message(typed(IntType, 3)).bytes(),
    Request("example/counter", "a").message(typed(IntType, 3)).bytes(),
    Request("example/counter", "a").state("count").message(typed(IntType, 0)).bytes(),
]
SERVE = (
    "\nimport sys\nfor hex_request in sys.argv[1:]:\n    print(handler.handle_sync(bytes.fromhex(hex_request)).hex())\n"
)


def test_only_the_import_line_changes() -> None:
    migrated = BEFORE_SNIPPET.replace("from statefun import", "from statefun_faas import")
    assert migrated == AFTER_SNIPPET
    assert AFTER_SNIPPET != BEFORE_SNIPPET


def test_before_on_the_reference_and_after_on_ours_answer_the_same_bytes() -> None:
    arguments = [request.hex() for request in REQUESTS]
    before = subprocess.run(
        [str(reference_python()), "-c", BEFORE_SNIPPET + SERVE, *arguments], capture_output=True, text=True, check=True
    )
    after = subprocess.run(
        [sys.executable, "-c", AFTER_SNIPPET + SERVE, *arguments], capture_output=True, text=True, check=True
    )
    assert after.stdout.split() == before.stdout.split()
    assert len(after.stdout.split()) == len(REQUESTS)


def test_golden_regeneration_reproduces_the_committed_vectors(reference: Worker) -> None:
    recorded = json.loads(VECTORS.read_text(encoding="utf-8"))
    fresh = requests()
    assert [v["name"] for v in recorded] == list(fresh)
    for vector in recorded:
        request = fresh[vector["name"]]
        assert request.hex() == vector["request"]
        outcome = reference.handle(request)
        assert outcome.raised == ("raises" in vector)
        if not outcome.raised:
            assert outcome.payload.hex() == vector["response"]


@pytest.mark.slow
def test_speed_benchmark_runs_and_checks_the_bytes() -> None:
    command = [
        sys.executable,
        str(ROOT / "benchmarks" / "handler.py"),
        "--seconds",
        "0",
        "--corpus-size",
        "20",
        "--rounds",
        "1",
    ]
    output = subprocess.run([*command, "--import-runs", "2"], capture_output=True, text=True, check=True).stdout
    rows = [line.split() for line in output.splitlines() if line.startswith(("batch1 ", "batch100 ", "missing "))]
    assert len(rows) == 12, output
    assert all(row[-1] == "yes" for row in rows), output
