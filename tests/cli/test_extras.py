"""Each command with only the extras it needs: the commands beside a runtime (send, state, dead-letters) work with
the base install; a missing extra is one line naming it. The missing libraries are made unimportable in a child
process (``sys.modules[name] = None``), as if they were not installed."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest

from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.store.database import Store
from statefun_faas.runtime.watch import Watcher
from tests.adapters.support import subprocess_env
from tests.cli.test_mistakes import one_line
from tests.runtime.processes import free_port

#: what the extras install (and aiohttp, which only the tests use): none of it is the base install
HEAVY = ("yaml", "httptools", "aiokafka", "prometheus_client", "boto3", "botocore", "uvicorn", "uvloop", "aiohttp")

KINESIS_MODULE = """
kind: io.statefun.kinesis.v1/ingress
spec:
  id: test/kin
  awsRegion: {type: specific, id: us-east-1}
  streams:
    - stream: loud
      valueType: test/text
      targets: [test/kinesis]
"""


def without(missing: tuple[str, ...], *args: str) -> subprocess.CompletedProcess[str]:
    """``statefun-faas args`` in a child process where the modules ``missing`` can not be imported."""
    program = (
        f"import sys\nfor name in {missing!r}:\n    sys.modules[name] = None\n"
        "from statefun_faas.cli import main\nsys.exit(main(sys.argv[1:]))\n"
    )
    command = [sys.executable, "-c", program, *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=60, env=subprocess_env(), check=False)


def test_state_and_dead_letters_need_no_extra(tmp_path: Path) -> None:
    Store.in_directory(tmp_path).close()
    state = without(HEAVY, "state", "example/greeter/bob", "--state", str(tmp_path))
    assert (state.returncode, state.stdout, state.stderr) == (0, "no states are registered for example/greeter\n", "")
    letters = without(HEAVY, "dead-letters", "--state", str(tmp_path))
    assert (letters.returncode, letters.stdout, letters.stderr) == (0, "0 dead letter(s)\n", "")


def test_send_needs_no_extra() -> None:
    ingress = f"http://127.0.0.1:{free_port()}"
    result = without(HEAVY, "send", "example/greeter/bob", "hi", "--ingress", ingress)
    one_line(result, 1, f"statefun-faas send: can not reach {ingress}/example/greeter/bob (")  # imported, ran


@pytest.mark.parametrize("command", [("run", "--module", "module.yaml"), ("module", "url", "https://example.com")])
def test_a_command_without_the_runtime_extra_names_it(command: tuple[str, ...]) -> None:
    result = without(("yaml",), *command)
    one_line(result, 2, f"statefun-faas {command[0]} needs 'yaml': pip install 'statefun-faas[runtime]'")


def test_kinesis_without_boto3_names_the_extra_at_start(tmp_path: Path) -> None:
    module = tmp_path / "module.yaml"
    module.write_text(KINESIS_MODULE)
    result = without(("boto3",), "run", "--module", str(module), "--state", str(tmp_path / "state"))
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "statefun-faas: the Kinesis ingress test/kin needs boto3, which is not installed: "
        "pip install 'statefun-faas[boto3]' (or run with --local-io to bind it to local topics)"
    )


def test_module_stack_without_boto3_names_the_extra() -> None:
    result = without(("boto3", "botocore"), "module", "stack", "my-stack", "--functions", "example/*", "--no-token")
    assert result.returncode == 2, result.stderr
    assert "Traceback" not in result.stderr
    assert result.stderr.splitlines()[-1] == (
        "statefun-faas module: module stack reads the stack's outputs with boto3, which is not installed: "
        "pip install 'statefun-faas[boto3]'"
    )


def test_a_reload_that_needs_boto3_keeps_the_previous_module(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    module = tmp_path / "module.yaml"
    module.write_text("")
    runtime = Runtime([str(module)], None, Options(state_dir=tmp_path / "state"))
    try:
        module.write_text(KINESIS_MODULE)
        monkeypatch.setitem(sys.modules, "boto3", None)
        watcher = Watcher([str(module)], 1, runtime.apply_module, runtime.store.data_version, lambda: None)
        asyncio.run(watcher._reload())  # what run() does on a changed file
    finally:
        runtime.store.close()
    assert runtime.module.ingresses == ()
    assert (
        "module.yaml changed but can not be used, keeping the previous one: the Kinesis ingress test/kin needs boto3"
    ) in caplog.text
