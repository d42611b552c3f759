"""Operator mistakes on the command line, as real processes: each is answered by one line on stderr saying what
was wrong and what to do, exit code 2 (1 for an unusable state file), and no traceback unless ``--debug``; an
error in the user's own code shows the user's frames only."""

from __future__ import annotations

import contextlib
import socket
import subprocess
from pathlib import Path

import pytest

from statefun_faas.runtime.store.database import DB_NAME, Store
from tests.adapters.support import subprocess_env
from tests.runtime.processes import RuntimeProcess, cli, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GREETER = ROOT / "examples" / "greeter"
DEV = ("--ingress-port", "0", "--egress-port", "0")


def serve(*args: str) -> subprocess.CompletedProcess[str]:
    """``statefun-faas serve`` without the environment's tokens and limits."""
    return cli("serve", *args, env=subprocess_env())


def one_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The result's stderr, checked to be exactly one line holding ``fragments``, and its exit code ``code``."""
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    return result.stderr


def test_serve_on_a_busy_port(tmp_path: Path) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = serve(str(GREETER / "functions.py"), "--port", str(port))
    one_line(result, 2, f"statefun-faas serve: can not listen on 127.0.0.1:{port} (Address already in use)", "--port")


def test_serve_on_a_port_out_of_range() -> None:
    result = serve(str(GREETER / "functions.py"), "--port", "99999")
    assert result.returncode == 2
    assert "argument --port: '99999' is no port number; give 0 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


def test_serve_on_a_host_that_does_not_resolve() -> None:
    result = serve(str(GREETER / "functions.py"), "--host", "no-such-host.invalid", "--port", "0")
    one_line(result, 2, "statefun-faas serve: can not listen on no-such-host.invalid:0 (", "check --host")


def test_serve_of_a_folder_names_the_folder(tmp_path: Path) -> None:
    one_line(serve(str(tmp_path)), 2, f"'{tmp_path}' is a folder; name the Python file in it")


@pytest.mark.parametrize("command", ["serve", "dev"])
def test_an_import_error_in_the_users_file_shows_the_users_frames_only(tmp_path: Path, command: str) -> None:
    user = tmp_path / "functions.py"
    user.write_text("import json\n\n\ndef helper():\n    import no_such_module_here\n\n\nhelper()\n")
    options = (*DEV, "--state", str(tmp_path / "s")) if command == "dev" else ()
    result = cli(command, str(user), *options, env=subprocess_env())
    assert result.returncode == 2, result.stderr
    lines = result.stderr.splitlines()
    assert lines[0] == "Traceback (most recent call last):"
    assert lines[1] == f'  File "{user}", line 8, in <module>'  # the user's frames come first
    assert f'File "{user}", line 5, in helper' in result.stderr
    assert "statefun_faas" not in result.stderr.replace("statefun-faas", "")
    assert "importlib" not in result.stderr
    assert lines[-1].endswith(
        f"importing '{user}' raised ModuleNotFoundError: No module named 'no_such_module_here' "
        "(see the traceback above); fix it and rerun"
    )
    debug = cli("--debug", command, str(user), *options, env=subprocess_env())
    assert debug.returncode == 1
    assert "statefun_faas/cli/target.py" in debug.stderr


def test_replay_of_an_id_that_is_no_number_or_no_letter(tmp_path: Path) -> None:
    Store.in_directory(tmp_path).close()
    one_line(
        cli("dead-letters", "--state", str(tmp_path), "--replay", "abc"),
        2,
        "statefun-faas dead-letters: --replay takes dead letter ids (numbers)",
    )
    one_line(
        cli("dead-letters", "--state", str(tmp_path), "--replay", "999"),
        2,
        "statefun-faas dead-letters: no dead letter with id 999; nothing replayed",
    )


def _damage(folder: Path, how: str) -> None:
    Store.in_directory(folder).close()
    path = folder / DB_NAME
    if how == "corrupt":
        path.write_bytes(b"not a database" * 100)
    else:
        with path.open("r+b") as file:
            file.truncate(100)


@pytest.mark.parametrize("how", ["corrupt", "truncated"])
@pytest.mark.parametrize(
    "command",
    [
        ("state", "example/greeter/bob"),
        ("dead-letters",),
        ("dead-letters", "--replay"),
        ("run", "--module", str(GREETER / "module.yaml")),
        ("dev", str(GREETER / "functions.py"), *DEV),
    ],
)
def test_an_unusable_state_file_is_named(tmp_path: Path, how: str, command: tuple[str, ...]) -> None:
    _damage(tmp_path, how)
    one_line(cli(*command, "--state", str(tmp_path)), 1, f"statefun-faas: the state file {tmp_path / DB_NAME} can not")


def test_state_naming_a_file(tmp_path: Path) -> None:
    file = tmp_path / "afile"
    file.write_text("")
    result = cli("dev", str(GREETER / "functions.py"), *DEV, "--state", str(file))
    one_line(result, 2, f"statefun-faas: --state '{file}' is a file; give a folder")


@pytest.mark.parametrize("typename", ["nosuch", "a/b/c", "/int"])
def test_send_with_a_type_that_is_no_typename(typename: str) -> None:
    result = cli(
        "send", "example/greeter/bob", "hi", "--type", typename, "--ingress", f"http://127.0.0.1:{free_port()}"
    )
    one_line(result, 2, f"statefun-faas send: --type '{typename}' is no typename; write NAMESPACE/NAME")


def test_run_of_a_module_without_endpoints_says_so(tmp_path: Path) -> None:
    module = tmp_path / "module.yaml"
    module.write_text("")
    runtime = RuntimeProcess.start(tmp_path / "run.log", "run", "--module", str(module), "--state", str(tmp_path / "s"))
    with contextlib.ExitStack() as stack:
        stack.callback(runtime.stop)
        assert f"{module} declares no function endpoint, so every message becomes a dead letter" in (
            runtime.log.read_text()
        )


def test_a_mistake_in_the_base_of_module_is_named_in_that_file(tmp_path: Path) -> None:
    base = tmp_path / "base.yaml"
    base.write_text("kind: io.statefun.playground.v1/ingress\nspec:\n  port: eighty\n")
    result = cli(
        "module", "url", "https://example.com/fn", "--functions", "example/*", "--no-token", "--base", str(base)
    )
    one_line(result, 2, f"the --base file does not load: {base}:3: spec.port: expected an integer")
    assert "generated" not in result.stderr


def test_an_import_error_inside_a_users_module_named_by_module_path(tmp_path: Path) -> None:
    (tmp_path / "userfunctions.py").write_text("import no_such_module_here\n")
    env = {**subprocess_env(), "PYTHONPATH": str(tmp_path)}
    result = cli("serve", "userfunctions", env=env)
    assert result.returncode == 2, result.stderr
    assert f'File "{tmp_path / "userfunctions.py"}", line 1, in <module>' in result.stderr.splitlines()[1]
    assert result.stderr.splitlines()[-1] == (
        "statefun-faas serve: importing 'userfunctions' raised ModuleNotFoundError: "
        "No module named 'no_such_module_here' (see the traceback above); fix it and rerun"
    )
    missing = cli("serve", "no_such_user_module", env=env)  # the module itself is missing: no traceback
    one_line(missing, 2, "can not import module 'no_such_user_module': No module named 'no_such_user_module'")
