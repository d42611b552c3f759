"""The docs, exercised: every fenced block of README.md, docs/*.md and examples/*/README.md runs.

Blocks follow the convention of the deploy quickstarts (tests/deploy/test_docs.py, whose block
reader this reuses): a ``<!-- needs-cloud -->`` (``needs-docker``, ``needs-cluster``) line before a
block means it is not run. Further markers:

- ``<!-- background: port N -->``: the command is started and left running (a server a reader
  starts in another terminal) until the page is done; the next block runs once port N listens.
- ``<!-- run-by: PATH -->``: the block is performed by the test in PATH, which names this page.
- ``<!-- file: PATH -->`` (as in the deploy quickstarts): the block is written to PATH.

bash blocks run with ``bash -euo pipefail`` in a scratch copy of the repository's docs,
examples, deploy templates and protos; python blocks run from the checkout's root as a reader of a
clone types them (``python -c``, so statefun_faas imports from the sources), in a fresh interpreter
after the page's earlier python blocks (a reader's session); json and yaml blocks must parse, and a yaml
block of module.yaml documents must load as the local runtime reads it; text blocks are output
shown to the reader. Pages with their own tests are checked to have them.
"""

from __future__ import annotations

import ast
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path

import pytest
import yaml

from statefun_faas.moduleyaml.reader import load_module
from tests.deploy.module_cli import console_script
from tests.deploy.test_docs import NOT_RUN, Block, blocks
from tests.runtime.processes import wait_for_port
from tests.venvs import cache_root, locked

ROOT = Path(__file__).resolve().parents[2]
# Pages whose blocks another test runs, with that test.
ELSEWHERE = {
    "docs/deploy-aws.md": "tests/deploy/test_docs.py",
    "docs/deploy-gcp.md": "tests/deploy/test_docs.py",
    "docs/deploy-azure.md": "tests/deploy/test_docs.py",
    "docs/migration.md": "tests/reference/test_migration_doc.py",
}
# Pages that run the examples or build a Lambda package: tens of seconds each.
SLOW = {
    "docs/platforms.md",
    "examples/greeter/README.md",
    "examples/shopping_cart/README.md",
    "examples/reminders/README.md",
    "examples/cross_language/README.md",
}
BACKGROUND = re.compile(r"background: port (\d+)")
COPIED = ("docs", "examples", "deploy", "protos", "README.md")


def pages() -> list[str]:
    found = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")), *sorted(ROOT.glob("examples/*/README.md"))]
    return [str(path.relative_to(ROOT)) for path in found]


def page_params() -> Iterator[object]:
    for page in pages():
        if page in ELSEWHERE:
            continue
        yield pytest.param(page, marks=pytest.mark.slow) if page in SLOW else page


def scratch(tmp_path: Path) -> Path:
    work = tmp_path / "work"
    skip = shutil.ignore_patterns("__pycache__", ".terraform*", "*.zip", ".statefun-faas*")
    for name in COPIED:
        source = ROOT / name
        if source.is_dir():
            shutil.copytree(source, work / name, ignore=skip)
        else:
            work.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source, work / name)
    return work


def environment() -> dict[str, str]:
    env = {key: value for key, value in os.environ.items() if not key.startswith(("STATEFUN_", "AWS_"))}
    env["PATH"] = f"{Path(console_script()).parent}{os.pathsep}{env.get('PATH', '')}"
    return env


class Reader:
    """Runs a page's blocks in order, as a reader would type them."""

    def __init__(self, page: str, work: Path) -> None:
        self.page, self.work, self.env = page, work, environment()
        self.python: list[str] = []
        self.servers: list[tuple[subprocess.Popen[bytes], Path]] = []

    def run(self, block: Block) -> None:
        marker = block.marker or ""
        if marker in NOT_RUN:
            return
        if marker.startswith("run-by: "):
            covering = ROOT / marker.removeprefix("run-by: ")
            assert self.page in covering.read_text(encoding="utf-8"), f"{covering} does not run {self.page}"
        elif background := BACKGROUND.fullmatch(marker):
            self.start(block.text, int(background.group(1)))
        elif marker.startswith("file: "):
            target = self.work / marker.removeprefix("file: ")
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(block.text, encoding="utf-8")
        elif marker:
            raise AssertionError(f"{self.page}: unknown marker {marker!r}")
        elif block.language in ("bash", "sh"):
            self.shell(block.text)
        elif block.language == "python":
            self.python.append(block.text)
            self.check([sys.executable, "-c", "\n".join(self.python)], block.text, cwd=ROOT)
        elif block.language == "json":
            json.loads(block.text)
        elif block.language == "yaml":
            self.yaml(block.text)
        else:
            assert block.language in ("text", ""), f"{self.page}: a {block.language!r} block is neither run nor marked"

    def yaml(self, text: str) -> None:
        """YAML that parses; a module.yaml (documents with a kind) must load as the runtime reads it."""
        documents = list(yaml.safe_load_all(text))
        if all(isinstance(document, dict) and "kind" in document for document in documents):
            path = self.work / "shown-module.yaml"
            path.write_text(text, encoding="utf-8")
            load_module(path)

    def shell(self, text: str) -> None:
        self.check(["bash", "-euo", "pipefail", "-c", text], text, cwd=self.work)

    def check(self, command: list[str], shown: str, cwd: Path) -> None:
        done = subprocess.run(command, cwd=cwd, env=self.env, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, f"{self.page}:\n{shown}\n--- stdout\n{done.stdout}\n--- stderr\n{done.stderr}"

    def start(self, text: str, port: int) -> None:
        assert port_is_free(port), f"{self.page}: port {port} is taken by another process; stop it and run again"
        log = self.work / f"background-{len(self.servers)}.log"
        with log.open("wb") as sink:
            process = subprocess.Popen(
                ["bash", "-c", text],
                cwd=self.work,
                env=self.env,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.servers.append((process, log))
        wait_for_port(port)
        assert process.poll() is None, f"{self.page}: {text}\n{log.read_text(errors='replace')}"

    def stop(self) -> None:
        for process, log in reversed(self.servers):
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                raise AssertionError(f"{self.page}: a background command did not stop:\n{log.read_text()}") from None


@contextmanager
def reading(page: str, work: Path) -> Iterator[Reader]:
    """A reader of ``page``; pages that start servers on the docs' fixed ports take turns across processes."""
    uses_ports = any(BACKGROUND.fullmatch(block.marker or "") for block in blocks(ROOT / page))
    with ports_lock() if uses_ports else nullcontext():
        reader = Reader(page, work)
        try:
            yield reader
        finally:
            reader.stop()


@contextmanager
def ports_lock() -> Iterator[None]:
    """Held while a page's servers listen on 8000, 8090, 8091, 8092: another docs run waits for it."""
    with locked(cache_root() / "docs-ports.lock"):
        yield


def port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


@pytest.mark.parametrize("page", list(page_params()))
def test_every_block_of_the_page_runs(page: str, tmp_path: Path) -> None:
    found = blocks(ROOT / page)
    with reading(page, scratch(tmp_path)) as reader:
        for block in found:
            reader.run(block)


def test_pages_run_elsewhere_have_their_tests() -> None:
    assert set(ELSEWHERE) <= set(pages())
    for page, test in ELSEWHERE.items():
        assert Path(page).name in (ROOT / test).read_text(encoding="utf-8"), f"{test} does not read {page}"


def test_the_api_page_is_up_to_date() -> None:
    done = subprocess.run([sys.executable, "docs/generate_api.py", "--check"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def message_fragments() -> dict[str, str]:
    """The longest literal part of every message raised or answered in statefun_faas/ and adapters/."""
    found: dict[str, str] = {}
    sources = [*ROOT.glob("statefun_faas/**/*.py"), *ROOT.glob("adapters/*.py")]
    for path in sorted(source for source in sources if "_proto" not in source.parts):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            message = _message_of(node)
            parts = [part.strip(" ;:,.'\"") for part in _literal_parts(message)] if message else []
            parts = [part for part in parts if len(part) >= 6]
            if parts:
                found[f"{path.relative_to(ROOT)}:{getattr(node, 'lineno', 0)}"] = max(parts, key=len)
    return found


def _message_of(node: ast.AST) -> ast.expr | None:
    call = node.exc if isinstance(node, ast.Raise) else node if isinstance(node, ast.Call) else None
    if not isinstance(call, ast.Call) or not call.args:
        return None
    name = getattr(call.func, "id", None) or getattr(call.func, "attr", None) or ""
    if name == "text" and len(call.args) == 2:
        return call.args[1]
    if isinstance(node, ast.Raise) or name in ("fail", "__init__") or name.endswith("Error"):
        return call.args[0] if name != "ModuleError" else (call.args[3] if len(call.args) > 3 else None)
    return None


def _literal_parts(node: ast.expr) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.JoinedStr):
        return [part for value in node.values for part in _literal_parts(value)]
    if isinstance(node, ast.BinOp):
        return _literal_parts(node.left) + _literal_parts(node.right)
    return []


def test_troubleshooting_lists_every_message() -> None:
    page = " ".join((ROOT / "docs" / "troubleshooting.md").read_text(encoding="utf-8").split())
    fragments = message_fragments()
    assert len(fragments) > 150
    missing = {where: text for where, text in fragments.items() if " ".join(text.split()) not in page}
    assert not missing, "add these messages to docs/troubleshooting.md:\n" + "\n".join(
        f"{where}: {text}" for where, text in missing.items()
    )
