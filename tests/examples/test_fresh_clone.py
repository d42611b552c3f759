"""The README's two commands, exactly as written, in a fresh clone of the repository with a new
virtual environment: the first sets everything up and runs the greeter, the second runs the checks.

Both run in one bash session, as a reader types them (the first activates the environment the
second uses). The clone's own ``./scripts/check`` runs this test too; there it stops at once
(the guard variable), or it would clone again and again.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.deploy.test_docs import blocks

ROOT = Path(__file__).resolve().parents[2]
MARKER = "run-by: tests/examples/test_fresh_clone.py"  # what README.md writes before both blocks
GUARD = "STATEFUN_FAAS_IN_FRESH_CLONE"


def readme_commands() -> list[str]:
    return [block.text for block in blocks(ROOT / "README.md") if block.marker == MARKER]


def test_the_readme_marks_its_two_commands() -> None:
    first, second = readme_commands()
    assert "python examples/greeter/main.py" in first
    assert second.strip() == "./scripts/check"


@pytest.mark.slow  # a new virtual environment with every extra, then the whole test suite in it
def test_the_two_commands_in_a_fresh_clone(tmp_path: Path) -> None:
    if os.environ.get(GUARD):
        pytest.skip("inside the fresh clone's own ./scripts/check (started by this test)")
    clone = tmp_path / "clone"
    subprocess.run(["git", "clone", "--quiet", str(ROOT), str(clone)], check=True)
    env = {key: value for key, value in os.environ.items() if key != "VIRTUAL_ENV" and not key.startswith("STATEFUN_")}
    env[GUARD] = "1"
    session = "set -e\n" + "\n".join(readme_commands())
    done = subprocess.run(["bash", "-c", session], cwd=clone, env=env, capture_output=True, text=True, timeout=3600)
    tail = "\n".join(done.stdout.splitlines()[-40:])
    assert done.returncode == 0, f"{tail}\n--- stderr\n{done.stderr[-4000:]}"
    assert "Hello there Alice at the 3rd time!" in done.stdout
