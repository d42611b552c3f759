"""Run ``statefun-faas module`` in-process (through statefun_faas.cli.main) or as the real console script."""

from __future__ import annotations

import io
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from statefun_faas.cli import main


@dataclass
class Result:
    code: int
    out: str
    err: str


def run_module(args: list[str], capsys: pytest.CaptureFixture[str], stdin: str | None = None) -> Result:
    saved = sys.stdin
    if stdin is not None:
        sys.stdin = io.StringIO(stdin)
    try:
        code = main(["module", *args])
    finally:
        sys.stdin = saved
    captured = capsys.readouterr()
    return Result(code, captured.out, captured.err)


def console_script() -> str:
    """The installed ``statefun-faas`` next to this interpreter (or on PATH)."""
    beside = Path(sys.executable).with_name("statefun-faas")
    found = str(beside) if beside.exists() else shutil.which("statefun-faas")
    assert found, "the statefun-faas console script is not installed"
    return found


def run_console(args: list[str], stdin: str | None = None, cwd: Path | None = None) -> Result:
    done = subprocess.run(
        [console_script(), *args], input=stdin, capture_output=True, text=True, timeout=120, cwd=cwd, check=False
    )
    return Result(done.returncode, done.stdout, done.stderr)
