"""Regenerating statefun_faas/_proto with the pinned generator changes nothing.

The generator (grpcio-tools, mypy-protobuf and the protobuf they run on) lives in a virtual
environment of its own (tests/venvs.py), so its pins never touch ours.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.venvs import ensure_venv

ROOT = Path(__file__).resolve().parents[2]
GENERATE = ROOT / "protos" / "generate.py"
COMMITTED = ROOT / "statefun_faas" / "_proto"


def generated_files(folder: Path) -> dict[str, bytes]:
    return {
        path.name: path.read_bytes() for path in sorted(folder.iterdir()) if path.name.endswith(("_pb2.py", ".pyi"))
    }


@pytest.mark.slow
def test_regenerating_gives_the_committed_files(tmp_path: Path) -> None:
    pins = subprocess.run(
        [sys.executable, str(GENERATE), "--requirements"], capture_output=True, text=True, check=True
    ).stdout.split()
    assert any(pin.startswith("grpcio-tools==") for pin in pins)
    python = ensure_venv("protogen", pins)
    subprocess.run([str(python), str(GENERATE), "--out", str(tmp_path)], check=True, cwd=ROOT)
    regenerated, committed = generated_files(tmp_path), generated_files(COMMITTED)
    assert sorted(regenerated) == sorted(committed)
    for name, content in committed.items():
        assert regenerated[name] == content, f"{name} differs from what protos/generate.py writes; regenerate it"
