"""``statefun-faas package aws``: a real pip install for the Lambda platform, a real zip, a real import of it.

Lambda unpacks the zip into a read-only folder and imports from there, so the import test does
the same: unpack, then import the handler with every ``.py`` source made unusable. Only the
precompiled unchecked-hash ``.pyc`` files can make that import work.
"""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from statefun_faas import StringType
from tests.adapters.lambda_events import event_for
from tests.builders import Request, decode, typed
from tests.deploy.module_cli import run_console

pytestmark = pytest.mark.slow  # pip downloads wheels for the Lambda platform

HOST = f"{sys.version_info[0]}.{sys.version_info[1]}"
FUNCTIONS = """\
from statefun_faas import Context, IntType, Message, StatefulFunctions, ValueSpec

functions = StatefulFunctions()


@functions.bind("example/greeter", specs=[ValueSpec("seen", IntType)])
def greeter(context: Context, message: Message) -> None:
    context.storage.seen = (context.storage.seen or 0) + 1
"""
UNCHECKED_HASH = 0b01  # .pyc flags: hash-based, source not checked


def _package(tmp_path: Path, *args: str) -> tuple[Path, str]:
    (tmp_path / "greeter.py").write_text(FUNCTIONS, encoding="utf-8")
    output = tmp_path / "out" / "lambda.zip"
    result = run_console(["package", "aws", "greeter.py", "-o", str(output), *args], cwd=tmp_path)
    assert result.code == 0, result.err
    return output, result.err


@pytest.fixture(scope="module")
def host_zip(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A package this machine can import: its Python version, its architecture."""
    return _package(tmp_path_factory.mktemp("host"), "--python", HOST, "--arch", "x86_64")


def _sources_and_pycs(archive: zipfile.ZipFile) -> tuple[list[str], dict[str, bytes]]:
    names = archive.namelist()
    sources = [name for name in names if name.endswith(".py")]
    pycs = {name: archive.read(name)[:16] for name in names if name.endswith(".pyc")}
    return sources, pycs


def _pyc_of(source: str, tag: str) -> str:
    folder, _, file = source.rpartition("/")
    return f"{folder}/__pycache__/{file[:-3]}.{tag}.pyc".lstrip("/")


def test_every_module_has_an_unchecked_hash_pyc(host_zip: tuple[Path, str]) -> None:
    path, progress = host_zip
    with zipfile.ZipFile(path) as archive:
        sources, pycs = _sources_and_pycs(archive)
    tag = sys.implementation.cache_tag
    assert {"statefun_handler.py", "greeter.py", "statefun_faas/adapters/aws_lambda.py"} <= set(sources)
    assert {_pyc_of(source, tag) for source in sources} == set(pycs)
    assert {int.from_bytes(header[4:8], "little") for header in pycs.values()} == {UNCHECKED_HASH}
    assert not [name for name in sources if name.startswith(("statefun_faas/runtime/", "statefun_faas/deploy/"))]
    for step in ("pip install protobuf", "compiling .pyc (unchecked-hash)", "wrote "):
        assert step in progress


IMPORT_AND_CALL = """
import json, sys
sys.dont_write_bytecode = True
sys.path.insert(0, sys.argv[1])
import statefun_handler, statefun_faas, google.protobuf
assert statefun_faas.__file__.startswith(sys.argv[1]), statefun_faas.__file__
assert google.protobuf.__file__.startswith(sys.argv[1]), google.protobuf.__file__
print(json.dumps(statefun_handler.handler(json.load(sys.stdin), None)))
"""


def test_handler_imports_from_the_unpacked_zip_with_its_pyc_only(host_zip: tuple[Path, str], tmp_path: Path) -> None:
    task = tmp_path / "task"
    with zipfile.ZipFile(host_zip[0]) as archive:
        archive.extractall(task)
    for source in task.rglob("*.py"):  # what is left to import from is the .pyc
        source.write_text("raise ImportError('the source was compiled instead of the .pyc')\n")
    body = Request("example/greeter", "bob").state("seen").message(typed(StringType, "hi")).bytes()
    event = event_for("function_url", "POST", "/greeter", "", body)
    done = subprocess.run(
        [sys.executable, "-I", "-c", IMPORT_AND_CALL, str(task)],
        input=json.dumps(event),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    response = json.loads(done.stdout)
    assert response["statusCode"] == 200
    (mutation,) = decode(base64.b64decode(response["body"])).invocation_result.state_mutations
    assert mutation.state_name == "seen"


ELF_MACHINE_AARCH64 = 0xB7


def test_default_build_targets_lambda_python_3_13_on_arm64(tmp_path: Path) -> None:
    path, progress = _package(tmp_path)
    with zipfile.ZipFile(path) as archive:
        sources, pycs = _sources_and_pycs(archive)
        (extension,) = [name for name in archive.namelist() if name.endswith(".so")]
        elf = archive.read(extension)[:20]
    assert {_pyc_of(source, "cpython-313") for source in sources} == set(pycs)
    assert elf[:4] == b"\x7fELF"
    assert int.from_bytes(elf[18:20], "little") == ELF_MACHINE_AARCH64
    assert "for python3.13 arm64" in progress


def test_no_compile_ships_sources_only(tmp_path: Path) -> None:
    path, _ = _package(tmp_path, "--python", HOST, "--arch", "x86_64", "--no-compile")
    with zipfile.ZipFile(path) as archive:
        assert not [name for name in archive.namelist() if name.endswith(".pyc")]


def test_a_compiler_of_another_version_is_refused(tmp_path: Path) -> None:
    other = "3.12" if HOST != "3.12" else "3.13"
    (tmp_path / "greeter.py").write_text(FUNCTIONS, encoding="utf-8")
    args = ["package", "aws", "greeter.py", "--python", other, "--compile-python", sys.executable]
    result = run_console(args, cwd=tmp_path)
    assert result.code == 2
    assert f"--compile-python {sys.executable} is not Python {other}" in result.err
    assert not (tmp_path / "lambda.zip").exists()
