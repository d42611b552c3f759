"""What a reader of a fresh clone runs works as typed, without ``python -P``.

From the checkout's root, ``python -c`` puts the root first on sys.path, so ``statefun_faas`` imports from
the source folder; its adapters come along through the ``statefun_faas/adapters`` link to ``adapters/``.
A project folder served with ``uvicorn main:app`` imports the installed package instead.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from statefun_faas import IntType
from tests.adapters.support import free_port, running
from tests.builders import Request, decode, typed
from tests.deploy.test_docs import blocks
from tests.docs.test_docs import ROOT, Reader

ADAPTERS = ("aws_lambda", "asgi", "wsgi", "gcp", "azure")
MAIN = """
from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec
from statefun_faas.adapters.asgi import asgi_app

functions = StatefulFunctions()


@functions.bind("example/counter", specs=[ValueSpec("count", IntType)])
def counter(context: Context, message: Message) -> None:
    context.storage.count = (context.storage.count or 0) + message.as_int()


app = asgi_app(functions)
"""


def test_every_adapter_imports_from_the_sources() -> None:
    modules = ", ".join(f"statefun_faas.adapters.{name}" for name in ADAPTERS)
    code = f"import {modules}\nprint(statefun_faas.adapters.asgi.__file__)"
    done = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stderr
    assert Path(done.stdout.strip()) == ROOT / "statefun_faas" / "adapters" / "asgi.py"


@pytest.mark.parametrize("page", ["README.md", "docs/platforms.md"])
def test_the_pages_python_runs_from_the_root(page: str, tmp_path: Path) -> None:
    """The page's python blocks alone; its page test runs them too, among its commands (platforms.md's: slow)."""
    python = [block for block in blocks(ROOT / page) if block.language == "python" and not block.marker]
    assert python, f"{page} shows no python"
    reader = Reader(page, tmp_path)
    for block in python:
        reader.run(block)


def test_uvicorn_serves_main_app_from_a_project_folder(tmp_path: Path) -> None:
    (tmp_path / "main.py").write_text(MAIN, encoding="utf-8")
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "main:app", "--port", str(port)]
    with running(command, tmp_path / "uvicorn.log", cwd=tmp_path) as server:
        server.wait_for_port(port)
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=10) as health:
            assert health.read() == b"ok\n"
        body = Request("example/counter", "kitchen").state("count").message(typed(IntType, 5)).bytes()
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/example/counter", body, timeout=10) as answer:
            result = decode(answer.read()).invocation_result
    (mutation,) = result.state_mutations
    assert (mutation.state_name, mutation.state_value) == ("count", typed(IntType, 5))
