"""CI-sized runs of the atheris targets (tests/fuzz/atheris_core.py, the protocol core; atheris_http.py, the
runtime's HTTP framing): a few thousand inputs each, no crash, no hang."""

from __future__ import annotations

import re
import subprocess
import sys
from importlib.util import find_spec
from pathlib import Path

import pytest

TARGET = Path(__file__).with_name("atheris_core.py")
HTTP_TARGET = Path(__file__).with_name("atheris_http.py")  # the runtime's HTTP/1.1 framing, requests and answers
RUNS = 3000

pytestmark = pytest.mark.skipif(
    find_spec("atheris") is None,
    reason="atheris is not installed: pip install -e '.[fuzz]' (wheels for Linux x86_64 only, where [dev] has it)",
)


def fuzz(target: Path, artifacts: Path) -> str:
    """Run ``target`` for RUNS inputs; its output, once it ran them all with no crash, hang or leak."""
    command = [sys.executable, str(target), f"-runs={RUNS}", "-seed=1", "-timeout=20", "-print_final_stats=1"]
    result = subprocess.run(
        [*command, f"-artifact_prefix={artifacts}/"], capture_output=True, text=True, timeout=600, check=False
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert f"Done {RUNS} runs" in output
    assert f"stat::number_of_executed_units: {RUNS}" in output
    assert list(artifacts.iterdir()) == [], "libFuzzer wrote crash, timeout or leak artifacts"
    return output


def test_atheris_core_runs_without_a_crash(tmp_path: Path) -> None:
    fuzz(TARGET, tmp_path)


def test_atheris_http_framing_runs_without_a_crash_or_a_hang(tmp_path: Path) -> None:
    output = fuzz(HTTP_TARGET, tmp_path)
    assert "Instrumenting statefun_faas.runtime.http.framing" in output  # coverage guides the framing code


def test_atheris_core_takes_a_time_budget_as_documented(tmp_path: Path) -> None:
    command = [sys.executable, str(TARGET), "--seconds", "1", "-seed=2", f"-artifact_prefix={tmp_path}/"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600, check=False)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert re.search(r"Done \d+ runs in \d+ second", output), output[-2000:]
    assert list(tmp_path.iterdir()) == []
