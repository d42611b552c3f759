"""Code that might hang, run in its own interpreter with a deadline: a hang fails its test, not the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest


def run_isolated(source: str, timeout: float = 30.0) -> str:
    """Run ``source`` with this interpreter; its stdout, or a failure naming the hang or the error."""
    source = textwrap.dedent(source)
    try:
        result = subprocess.run(
            [sys.executable, "-c", source], capture_output=True, text=True, timeout=timeout, check=False
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"still running after {timeout:g}s (a hang), killed:\n{source}")
    assert result.returncode == 0, f"exited with {result.returncode}:\n{result.stderr[-3000:]}"
    return result.stdout
