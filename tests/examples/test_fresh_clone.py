"""The README's two commands are the ones CI runs.

.ci/run runs the README blocks marked ``run-by: .ci/run`` exactly as written, in one bash
session on a fresh clone (the first sets everything up and runs the greeter, the second runs
the checks), so this test only holds the README to its shape.
"""

from __future__ import annotations

from pathlib import Path

from tests.deploy.test_docs import blocks

ROOT = Path(__file__).resolve().parents[2]
MARKER = "run-by: .ci/run"


def readme_commands() -> list[str]:
    return [block.text for block in blocks(ROOT / "README.md") if block.marker == MARKER]


def test_the_readme_marks_its_two_commands() -> None:
    first, second = readme_commands()
    assert "python examples/greeter/main.py" in first
    assert "pip install -c constraints.txt -e" in first  # the checkers at their pinned versions
    assert second.strip() == "./scripts/check"


def test_ci_runs_the_marked_commands() -> None:
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert MARKER.replace(".", "\\\\.") in ci or "run-by: \\.ci/run" in ci
    assert 'bash -euo pipefail -c "$readme_commands"' in ci
