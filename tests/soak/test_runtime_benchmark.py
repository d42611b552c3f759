"""benchmarks/runtime.py runs as a script (a few seconds): its rows come out, and the paced clients keep to
their rate. No speed is asserted: the pace is an upper bound the clients must respect, whatever the machine."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "runtime.py"


def rows(stdout: str) -> dict[str, list[str]]:
    """The table's rows by scenario label."""
    table = [line.strip("|").split("|") for line in stdout.splitlines() if line.startswith("| (")]
    return {cells[0].strip(): [cell.strip() for cell in cells[1:]] for cells in table}


def test_rows_come_out_and_paced_clients_keep_to_their_rate() -> None:
    command = [sys.executable, str(SCRIPT), "--only", "a0,bp,d", "--messages", "400", "--paced-rate", "400"]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    table = rows(done.stdout)
    assert set(table) == {
        "(a0) in-process, no HTTP ingress",
        "(b) paced at 400/s, HTTP, 1,000 keys",
        "(d) HTTP, one at a time",
    }
    clients, keys, messages, rate = table["(b) paced at 400/s, HTTP, 1,000 keys"][:4]
    assert (clients, keys, messages) == ("16", "1000", "400")
    # 400 messages due over one second: the first is due at the start, the last 0.9975 s later
    assert 300 <= float(rate.replace(",", "")) <= 410
    assert int(table["(d) HTTP, one at a time"][2]) == 100  # a quarter of --messages, one at a time
