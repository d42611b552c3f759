"""tests/venvs.py: one build per requirements, shared by racing processes, reused afterwards."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.venvs import ensure_venv, venv_path

ROOT = Path(__file__).resolve().parents[2]
ENSURE = "from tests.venvs import ensure_venv, venv_path\nprint(ensure_venv('race', []))"


def test_racing_processes_share_one_build_and_later_calls_reuse_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    environment = {**os.environ, "STATEFUN_FAAS_CACHE": str(tmp_path), "PYTHONPATH": str(ROOT)}
    racers = [
        subprocess.Popen([sys.executable, "-c", ENSURE], env=environment, stdout=subprocess.PIPE, text=True)
        for _ in range(3)
    ]
    answers = {racer.communicate(timeout=120)[0].strip() for racer in racers}
    assert all(racer.returncode == 0 for racer in racers)
    (python,) = answers
    marker = Path(python).parents[1] / ".statefun-faas-complete"
    built_by = marker.read_text()
    assert built_by.startswith("built by process")
    subprocess.run([python, "-c", "import sys; assert sys.prefix != sys.base_prefix"], check=True)

    monkeypatch.setenv("STATEFUN_FAAS_CACHE", str(tmp_path))
    assert ensure_venv("race", []) == Path(python)
    assert marker.read_text() == built_by  # reused, not rebuilt
    assert venv_path("race", []) != venv_path("race", ["something==1"])
    assert venv_path("race", []).parent == tmp_path / "venvs"
