"""benchmarks/engine.py runs as a script with a tiny count on the session's broker: both tables come out, each
row with numbers (a part that could not run would say so in its row instead). No speed is asserted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.engine import HARNESS, LOCAL, OURS, REFERENCE
from tests.engine.kafka import KafkaBroker

pytestmark = pytest.mark.engine

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "engine.py"


def tables(stdout: str) -> dict[str, dict[str, list[str]]]:
    """Each table's rows (by their first cell) under the line that names the table: ``(1) ...``, ``(2) ...``."""
    found: dict[str, dict[str, list[str]]] = {}
    current: dict[str, list[str]] = {}
    for line in stdout.splitlines():
        if line.startswith("("):
            current = found.setdefault(line[:3], {})
        elif line.startswith("| ") and not line.startswith("| function tier |") and not line.startswith("| runtime |"):
            name, *cells = (cell.strip() for cell in line.strip().strip("|").split("|"))
            current[name] = cells
    return found


def numbers(cells: list[str]) -> list[float]:
    return [float(cell.replace(",", "")) for cell in cells]


def test_both_tables_print_with_numbers(kafka_broker: KafkaBroker) -> None:
    tiny = ["--messages", "100", "--warmup", "50", "--repeat", "1", "--rate", "100", "--idle", "1"]
    command = [sys.executable, str(SCRIPT), *tiny, "--bootstrap", kafka_broker.bootstrap]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    found = tables(done.stdout)
    assert set(found) == {"(1)", "(2)"}, done.stdout
    assert set(found["(1)"]) == {OURS, REFERENCE}
    assert set(found["(2)"]) == {HARNESS, LOCAL}
    for name, cells in found["(1)"].items():  # messages/s, p50, p99, function tier CPU
        assert len(numbers(cells)) == 4, (name, cells)
    for name, cells in found["(2)"].items():  # the same, the runtime's CPU, idle CPU and peak RSS between
        assert len(numbers(cells)) == 7, (name, cells)
