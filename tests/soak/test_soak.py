"""A short soak (about 10 s) of benchmarks/soak.py, run as a script: the local runtime and an adapter
server under concurrent load on loopback. Asserted: no error other than the injected ones. Memory and fd
figures are printed, not asserted (the full run's figures are in RELIABILITY.md)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.slow

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "soak.py"


def test_short_soak_has_no_error_but_the_injected_ones(tmp_path: Path) -> None:
    figures = tmp_path / "soak.json"
    command = [sys.executable, str(SCRIPT), "--seconds", "10", "--clients", "6", "--json", str(figures)]
    done = subprocess.run(command, capture_output=True, text=True, timeout=180, check=False)
    print(done.stdout)
    assert done.returncode == 0, done.stdout + done.stderr
    result = json.loads(figures.read_text())
    assert result["errors"] == 0
    assert result["ingress_sent"] > 100
    assert result["egress_received"] == result["ingress_sent"]
    assert result["adapter_requests"] > 100
    assert result["adapter_injected_400"] > 0
    assert result["injected_5xx"] > 0  # the runtime did meet failing calls, and retried each of them
    assert set(result["usage"]) == {"function server", "runtime", "adapter server"}
