"""A CI-sized run of the HTTP framing's atheris target (tests/fuzz/atheris_http.py): a few thousand inputs,
requests and answers, whole and in pieces, no crash and no hang."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

TARGET = Path(__file__).with_name("atheris_http.py")
RUNS = 3000


def test_atheris_http_framing_runs_without_a_crash_or_a_hang(tmp_path: Path) -> None:
    command = [sys.executable, str(TARGET), f"-runs={RUNS}", "-seed=1", "-timeout=20", "-print_final_stats=1"]
    result = subprocess.run(
        [*command, f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"Done {RUNS} runs" in output
    assert f"stat::number_of_executed_units: {RUNS}" in output
    assert "Instrumenting statefun_faas.runtime.http11" in output  # coverage guides the framing code
    assert list(tmp_path.iterdir()) == [], "libFuzzer wrote crash, timeout or leak artifacts"
