"""``statefun-faas serve`` as a real process, answering real HTTP requests."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

from statefun_faas import RequestReplyHandler
from statefun_faas.cli import main
from statefun_faas.cli.target import load_functions
from tests.adapters.conformance import Case
from tests.adapters.support import call, free_port, running, subprocess_env
from tests.builders import Request

GREETER = """
from statefun_faas import Context, Message, StatefulFunctions, ValueSpec, IntType, message_builder

functions = StatefulFunctions()


@functions.bind("example/greeter", specs=[ValueSpec("seen", IntType)])
async def greet(context: Context, message: Message) -> None:
    context.storage.seen = (context.storage.seen or 0) + 1
    name = message.as_string()
    context.send(message_builder("example/printer", name, str_value=f"hello {name} #{context.storage.seen}"))
"""

WITHOUT_UVICORN = "import sys; sys.modules['uvicorn'] = None; from statefun_faas.cli import main; sys.exit(main())"


@pytest.fixture
def target(tmp_path: Path) -> Path:
    path = tmp_path / "greeter.py"
    path.write_text(GREETER)
    return path


def _greeting(target: Path) -> Case:
    from statefun_faas import StringType
    from tests.builders import typed

    body = Request("example/greeter", "ada").message(typed(StringType, "ada")).bytes()
    expected = RequestReplyHandler(load_functions(str(target))).handle_sync(body)
    return Case("greeting", "POST", "/t/s3cret/greeter", "", body, 200, expected)


@pytest.mark.parametrize("server", ["uvicorn", "wsgiref"])
def test_serve_answers_over_http(target: Path, tmp_path: Path, server: str) -> None:
    start = ["-c", WITHOUT_UVICORN] if server == "wsgiref" else ["-m", "statefun_faas.cli"]
    command = [sys.executable, *start, "serve", str(target), "--port", "0"]
    env = {**subprocess_env(), "STATEFUN_FAAS_TOKENS": "s3cret"}
    with running(command, tmp_path / "serve.log", env) as process:
        output = process.wait_for(lambda text: "listening on http://" in text, "startup line")
        match = re.search(r"listening on http://127\.0\.0\.1:(\d+)/", output)
        assert match is not None, output
        assert "example/greeter" in output
        assert f"with {server}" in output
        port = int(match.group(1))
        case = _greeting(target)
        status, content_type, body = call(port, case)
        assert (status, content_type, body) == (200, "application/octet-stream", case.expect)
        assert call(port, Case("no token", "POST", "/greeter", "", case.body, 401))[0] == 401
        assert call(port, Case("health", "GET", "/healthz", "", b"", 200))[2] == b"ok\n"
        assert call(port, case)[0] == 200
        process.wait_for(lambda text: '"typename": "example/greeter"' in text, "JSON request log line")


def test_serve_takes_the_port_from_the_environment_and_the_target_from_its_folder(tmp_path: Path) -> None:
    """As a container host runs it: $PORT and no --port, ``main:functions`` found in the working directory
    (``python -P`` puts no folder on the import path itself, as the installed ``statefun-faas`` script does not)."""
    (tmp_path / "main.py").write_text(GREETER)
    port = free_port()
    command = [sys.executable, "-P", "-m", "statefun_faas.cli", "serve", "main:functions"]
    env = {**subprocess_env(), "STATEFUN_FAAS_TOKENS": "s3cret", "PORT": str(port)}
    with running(command, tmp_path / "serve.log", env, cwd=tmp_path) as process:
        process.wait_for(lambda text: f"listening on http://127.0.0.1:{port}/" in text, "startup line")
        case = _greeting(tmp_path / "main.py")
        assert call(port, case)[2] == case.expect
    given = [*command, "--port", "0"]  # --port wins over $PORT
    with running(given, tmp_path / "given.log", {**env, "PORT": "not a port"}, cwd=tmp_path) as process:
        process.wait_for(lambda text: "listening on http://" in text, "startup line")


def test_serve_reports_a_bad_target(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["serve", str(tmp_path / "missing.py")]) == 2
    assert "no such file" in capsys.readouterr().err
