"""A CI-sized run of the atheris target (tests/fuzz/atheris_core.py): a few thousand inputs, no crash."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

TARGET = Path(__file__).with_name("atheris_core.py")
RUNS = 3000


def test_atheris_core_runs_without_a_crash(tmp_path: Path) -> None:
    command = [sys.executable, str(TARGET), f"-runs={RUNS}", "-seed=1", "-timeout=20", "-print_final_stats=1"]
    result = subprocess.run(
        [*command, f"-artifact_prefix={tmp_path}/"], capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"Done {RUNS} runs" in output
    assert f"stat::number_of_executed_units: {RUNS}" in output
    assert list(tmp_path.iterdir()) == [], "libFuzzer wrote crash, timeout or leak artifacts"


def test_atheris_core_takes_a_time_budget_as_documented(tmp_path: Path) -> None:
    command = [sys.executable, str(TARGET), "--seconds", "1", "-seed=2", f"-artifact_prefix={tmp_path}/"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert re.search(r"Done \d+ runs in \d+ second", output), output[-2000:]
    assert list(tmp_path.iterdir()) == []
