"""Operator mistakes on the command line, as real processes: each is answered by one line on stderr saying what
was wrong and what to do, exit code 2 (1 for an unusable state file), and no traceback unless ``--debug``; an
error in the user's own code shows the user's frames only."""

from __future__ import annotations

import contextlib
import ctypes
import os
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from statefun_faas.runtime.defaults import WARNING_HEADER
from statefun_faas.runtime.store.database import DB_NAME, Store
from statefun_faas.runtime.store.folderlock import LOCK_NAME
from tests.adapters.support import subprocess_env
from tests.cli.test_serve import WITHOUT_UVICORN
from tests.runtime.processes import RuntimeProcess, cli, free_port

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GREETER = ROOT / "examples" / "greeter"
DEV = ("--ingress-port", "0", "--egress-port", "0")


def serve(*args: str, server: str = "uvicorn") -> subprocess.CompletedProcess[str]:
    """``statefun-faas serve`` without the environment's tokens and limits, on uvicorn or (uvicorn made missing)
    the standard library's server."""
    if server == "uvicorn":
        return cli("serve", *args, env=subprocess_env())
    command = [sys.executable, "-c", WITHOUT_UVICORN, "serve", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=30, env=subprocess_env(), check=False)


def one_line(result: subprocess.CompletedProcess[str], code: int, *fragments: str) -> str:
    """The result's stderr, checked to be exactly one line holding ``fragments``, and its exit code ``code``."""
    assert result.returncode == code, result.stderr
    assert result.stderr.count("\n") == 1, result.stderr
    assert "Traceback" not in result.stderr
    for fragment in fragments:
        assert fragment in result.stderr
    return result.stderr


@pytest.mark.parametrize("server", ["uvicorn", "wsgiref"])
def test_serve_on_a_busy_port(server: str) -> None:
    port = free_port()
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", port))
        holder.listen()
        result = serve(str(GREETER / "functions.py"), "--port", str(port), server=server)
    one_line(result, 2, f"statefun-faas serve: can not listen on 127.0.0.1:{port} (Address already in use)", "--port")


def test_serve_on_a_port_out_of_range() -> None:
    result = serve(str(GREETER / "functions.py"), "--port", "99999")
    assert result.returncode == 2
    assert "argument --port: '99999' is no port number; give 0 to 65535" in result.stderr
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("server", ["uvicorn", "wsgiref"])
def test_serve_on_a_host_that_does_not_resolve(server: str) -> None:
    result = serve(str(GREETER / "functions.py"), "--host", "no-such-host.invalid", "--port", "0", server=server)
    one_line(result, 2, "statefun-faas serve: can not listen on no-such-host.invalid:0 (", "check --host")


def test_serve_with_a_port_variable_that_is_no_port() -> None:
    result = cli("serve", str(GREETER / "functions.py"), env={**subprocess_env(), "PORT": "eighty"})
    one_line(result, 2, "statefun-faas serve: $PORT: 'eighty' is no port number; give 0 to 65535")


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


def test_a_state_folder_that_can_not_be_created_is_named(tmp_path: Path) -> None:
    """Under a file (refused even to root): one line naming it, not a bare OS error."""
    (tmp_path / "afile").write_text("")
    folder = tmp_path / "afile" / "state"
    result = cli("dev", str(GREETER / "functions.py"), *DEV, "--state", str(folder))
    one_line(
        result,
        1,
        f"statefun-faas: the state file {folder / DB_NAME} can not be used: its folder can not be created: "
        "Not a directory",
    )
    assert "give --state a folder this user may create" in result.stderr


@pytest.mark.parametrize("typename", ["nosuch", "a/b/c", "/int"])
def test_send_with_a_type_that_is_no_typename(typename: str) -> None:
    result = cli(
        "send", "example/greeter/bob", "hi", "--type", typename, "--ingress", f"http://127.0.0.1:{free_port()}"
    )
    one_line(result, 2, f"statefun-faas send: --type '{typename}' is no typename; write NAMESPACE/NAME")


def test_send_to_a_function_type_no_endpoint_serves(tmp_path: Path) -> None:
    state = tmp_path / "s"
    log = tmp_path / "dev.log"
    runtime = RuntimeProcess.start(log, "dev", str(GREETER / "functions.py"), *DEV, "--state", str(state))
    with contextlib.ExitStack() as stack:
        stack.callback(runtime.stop)
        ingress = f"http://127.0.0.1:{runtime.ports['ingress']}"
        served = cli("send", "example/person/bob", "hi", "--ingress", ingress)
        assert (served.returncode, served.stderr) == (0, "")
        assert served.stdout == "sent io.statefun.types/string to example/person/bob\n"
        result = cli("send", "example/nosuch/bob", "hi", "--ingress", ingress)
        one_line(
            result,
            1,
            "statefun-faas send: the message to example/nosuch/bob is stored, but no endpoint serves function type "
            "example/nosuch; the message goes to the dead letters; add an endpoint for example/nosuch to module.yaml",
            "or fix the address",
        )
        assert result.stdout == ""
        curl = urllib.request.Request(f"{ingress}/example/nosuch/ann", b"hi", method="PUT")
        with urllib.request.urlopen(curl) as answer:  # the ingress contract stands: 200 once stored
            assert (answer.status, answer.read()) == (200, b"")
            assert "example/nosuch" in answer.headers[WARNING_HEADER]
        crlf = urllib.request.Request(f"{ingress}/example/no%0D%0AX-Injected:%20yes/ann", b"hi", method="PUT")
        with urllib.request.urlopen(crlf) as answer:  # the path's text comes back quoted, never as a header line
            assert "X-Injected" not in answer.headers
            assert "function type example/no%0D%0AX-Injected%3A%20yes;" in answer.headers[WARNING_HEADER]
        deadline = time.monotonic() + 20
        while "3 dead letter(s)" not in (listed := cli("dead-letters", "--state", str(state)).stdout):
            assert time.monotonic() < deadline, listed
            time.sleep(0.1)
        assert listed.count("reason: no endpoint in module.yaml serves function type example/nosuch") == 2


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


PR_CAPBSET_DROP, CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 24, 1, 2


def _obey_file_modes() -> None:
    """Before exec, in a child of root: drop the capabilities that let root read and write any file from the
    bounding set, so the program exec'd (still uid 0) obeys file modes like any user. Not setuid to an
    unprivileged user: the interpreter may live in root's private home (pyenv under /root), out of its reach."""
    libc = ctypes.CDLL(None, use_errno=True)
    for capability in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def as_a_user(*args: str) -> subprocess.CompletedProcess[str]:
    """``python args`` as a process that can not write a read-only file (as root too: see _obey_file_modes)."""
    return subprocess.run(
        [sys.executable, *args],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
        preexec_fn=_obey_file_modes if os.geteuid() == 0 else None,
    )


@pytest.fixture(scope="module")
def file_modes_bind(tmp_path_factory: pytest.TempPathFactory) -> None:
    """Skips, saying why, where a read-only file can not be made so to the processes of these tests."""
    probe = tmp_path_factory.mktemp("probe") / "read-only"
    probe.write_text("")
    probe.chmod(0o444)
    try:
        result = as_a_user("-c", f"open({str(probe)!r}, 'a')")
    except subprocess.SubprocessError as error:
        pytest.skip(f"root's capability to write any file can not be dropped here ({error}): no file is read-only")
    if result.returncode == 0:
        pytest.skip("a file of mode 0444 is writable to a child process here: no file is read-only")


@pytest.fixture
def read_only(tmp_path: Path) -> Iterator[Path]:
    """A state folder made read-only (its state file, its files, or the folder with its files), writable again
    after the test."""
    Store.in_directory(tmp_path).close()
    yield tmp_path
    tmp_path.chmod(0o755)
    for file in tmp_path.iterdir():
        file.chmod(0o644)


def _make_read_only(folder: Path, what: str) -> None:
    files = [folder / DB_NAME] if what == "state file" else list(folder.iterdir())
    for file in files:
        file.chmod(0o444)
    if what == "folder":
        folder.chmod(0o555)


WRITERS = {
    "replay": ("dead-letters", "--replay"),
    "run": ("run", "--module", str(GREETER / "module.yaml")),
    "dev": ("dev", str(GREETER / "functions.py"), *DEV),
}
READERS = {"state": ("state", "example/greeter/bob"), "list": ("dead-letters",)}
#: what the answer names, by what was made read-only
NOT_WRITABLE = {
    "state file": DB_NAME,
    "files": f"{DB_NAME}, {LOCK_NAME}",
    "folder": f"the state folder, {DB_NAME}, {LOCK_NAME}",
}


@pytest.mark.usefixtures("file_modes_bind")
@pytest.mark.parametrize(
    ("command", "what"),
    # reading needs no write to the files, only to the folder (see the test below)
    [pytest.param(c, w, id=f"{name}-{w}") for name, c in WRITERS.items() for w in NOT_WRITABLE]
    + [pytest.param(c, "folder", id=f"{name}-folder") for name, c in READERS.items()],
)
def test_a_read_only_state_folder_is_named(read_only: Path, what: str, command: tuple[str, ...]) -> None:
    _make_read_only(read_only, what)
    result = as_a_user("-m", "statefun_faas.cli", *command, "--state", str(read_only))
    one_line(
        result,
        1,
        f"statefun-faas: the state file {read_only / DB_NAME} can not be used: this user may not write "
        f"{NOT_WRITABLE[what]} (",
        "); make the state folder and its files writable for the user running statefun-faas, "
        "or give another --state folder",
    )


@pytest.mark.usefixtures("file_modes_bind")
@pytest.mark.parametrize("command", READERS.values(), ids=READERS.keys())
def test_read_only_state_files_can_still_be_read(read_only: Path, command: tuple[str, ...]) -> None:
    _make_read_only(read_only, "files")
    result = as_a_user("-m", "statefun_faas.cli", *command, "--state", str(read_only))
    assert (result.returncode, result.stderr) == (0, "")
