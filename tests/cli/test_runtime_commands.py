"""The runtime's commands as real processes: dev with the playground tutorial's curl commands, send,
state, dead-letters, delayed messages across a restart, and the README's main job."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from statefun_faas.runtime.store.database import Store
from tests.runtime.processes import RuntimeProcess, cli, put, take

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[2]
GREETER = ROOT / "examples" / "greeter"
APPS = Path(__file__).resolve().parents[1] / "runtime" / "apps.py"


def dev(tmp_path: Path, target: Path, name: str) -> RuntimeProcess:
    args = ("dev", str(target), "--state", str(tmp_path / "state"), "--ingress-port", "0", "--egress-port", "0")
    return RuntimeProcess.start(tmp_path / f"{name}.log", *args)


def curl(*args: str) -> str:
    return subprocess.run(["curl", "-s", *args], capture_output=True, text=True, check=True, timeout=10).stdout


def test_playground_tutorial_curl_commands(tmp_path: Path) -> None:
    runtime = dev(tmp_path, GREETER / "functions.py", "dev")
    ingress, egress = runtime.ports["ingress"], runtime.ports["egress"]
    try:
        for _ in range(2):
            curl("-X", "PUT", "-H", "Content-Type: application/vnd.example/GreetRequest", "-d", '{"name":"Bob"}',
                 f"localhost:{ingress}/example/person/Bob")  # fmt: skip
        deadline, greetings = time.monotonic() + 10, list[str]()
        while len(greetings) < 2 and time.monotonic() < deadline:
            answer = curl("-w", " %{http_code}", "-X", "GET", f"localhost:{egress}/greetings")
            if answer.endswith(" 200"):
                greetings.append(answer[: -len(" 200")])
        assert greetings == ["Hello there Bob at the 1st time!", "Hello there Bob at the 2nd time!"]
        assert curl("-w", "%{http_code}", f"localhost:{egress}/greetings") == "404"
        assert curl("-w", "%{http_code}", f"localhost:{ingress}/too/few").endswith("404")
    finally:
        assert runtime.stop() == 0
    state = cli("state", "example/person/Bob", "--state", str(tmp_path / "state"))
    assert "visits (io.statefun.types/int): 2" in state.stdout
    assert 'last_greeting (io.statefun.types/string): "Hello there Bob at the 2nd time!"' in state.stdout


def test_send_state_dead_letters_and_delayed_messages_across_a_restart(tmp_path: Path) -> None:
    state_dir = str(tmp_path / "state")
    runtime = dev(tmp_path, APPS, "first")
    ingress = f"http://127.0.0.1:{runtime.ports['ingress']}"
    assert cli("send", "test/counter/k", "hello", "--ingress", ingress).returncode == 0
    assert take(runtime.ports["egress"], "counts", 1) == ["k:1:hello:-"]
    assert cli("send", "test/failing/f", "boom", "--ingress", ingress).returncode == 0
    commands = [{"after": 2, "token": "keep", "text": "later"}, {"after": 2, "token": "drop", "text": "no"}]
    for command in [*commands, {"cancel": "drop"}]:
        assert put(runtime.ports["ingress"], "test/timer/t", json.dumps(command).encode())
    store = Store.read_only(state_dir)
    deadline = time.monotonic() + 10
    while (store.count_delayed(), store.inbox_size()) != (1, 0) and time.monotonic() < deadline:
        time.sleep(0.02)  # until the cancellation is applied
    store.close()
    assert runtime.stop() == 0  # "keep" is still pending

    letters = cli("dead-letters", "--state", state_dir)
    assert "test/failing/f" in letters.stdout
    assert "RuntimeError: boom" in letters.stdout
    assert "1 dead letter(s)" in letters.stdout

    again = dev(tmp_path, APPS, "second")
    try:
        assert take(again.ports["egress"], "counts", 1) == ["t:1:later:test/timer/t"]
        assert take(again.ports["egress"], "counts", 1, timeout=1) == []  # the cancelled one never comes
    finally:
        assert again.stop() == 0
    replay = cli("dead-letters", "--state", state_dir, "--replay")  # with the runtime stopped (it owns the folder)
    assert "replayed dead letters to 1 address(es)" in replay.stdout
    third = dev(tmp_path, APPS, "third")
    try:
        deadline, failed = time.monotonic() + 10, "test/failing/f: 1 message(s) to the dead letters"
        while failed not in (log := third.log.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # the next start delivers the replayed message, which fails again
        assert log.count(failed) == 1
    finally:
        assert third.stop() == 0
    state = cli("state", "test/counter/k", "--state", state_dir)
    assert state.stdout.strip() == "count (io.statefun.types/int): 1"


def test_send_explains_a_runtime_that_is_not_running(tmp_path: Path) -> None:
    result = cli("send", "test/counter/k", "x", "--ingress", "http://127.0.0.1:9")
    assert result.returncode == 1
    assert "is the runtime running?" in result.stderr
    missing = cli("state", "test/counter/k", "--state", str(tmp_path / "nothing"))
    assert missing.returncode == 1
    assert "no state in" in missing.stderr


def test_the_readme_main_job(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, str(GREETER / "main.py")],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    assert sorted(lines) == sorted(
        [
            "Hello there Alice at the 1st time!",
            "Hello there Bob at the 1st time!",
            "Hello there Alice at the 2nd time!",
            "Hello there Carol at the 1st time!",
            "Hello there Alice at the 3rd time!",
        ]
    )


def test_run_names_the_file_line_and_field_of_a_broken_module(tmp_path: Path) -> None:
    module = tmp_path / "module.yaml"
    module.write_text("kind: io.statefun.endpoints.v2/http\nspec:\n  functions: example/*\n")
    result = cli("run", "--module", str(module), "--state", str(tmp_path / "state"))
    assert result.returncode == 2
    assert f"{module}:" in result.stderr
    assert "urlPathTemplate" in result.stderr
