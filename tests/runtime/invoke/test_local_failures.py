"""A runtime that runs out of file descriptors while calling a function: the shortage is the runtime's own,
so the acknowledged message waits for descriptors and is delivered once they are back, never
dead-lettered. A real shortage: the runtime process (tests/runtime/starved.py) has a low open-files limit
and holds every free descriptor on command."""

from __future__ import annotations

import http.client
import json
import resource
import subprocess
import sys
import time
from contextlib import closing
from pathlib import Path
from typing import IO, Any

import pytest

from tests.runtime.apps import functions
from tests.runtime.invoke.test_tls import ASYNC_TLS, MUTUAL, write_pki
from tests.runtime.processes import RuntimeProcess, take
from tests.runtime.servers import PLAYGROUND_IO, FunctionServer, endpoint, in_thread

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
CALL_TIMEOUT_S = 1.0  # ASYNC_TLS's call timeout: a shortage outlasts it three times over


def ask(process: subprocess.Popen[str], command: str | None = None) -> dict[str, Any]:
    """Send a command to the starved runtime (if any) and read its JSON answer."""
    assert process.stdin is not None
    assert process.stdout is not None
    if command:
        process.stdin.write(command + "\n")
        process.stdin.flush()
    line = process.stdout.readline()
    assert line, f"the runtime process ended (exit {process.wait(10)})"
    answer: dict[str, Any] = json.loads(line)
    return answer


def start(tmp_path: Path, module: str, loop: str, log: IO[str]) -> subprocess.Popen[str]:
    (tmp_path / "module.yaml").write_text(module)
    command = [sys.executable, "-m", "tests.runtime.starved", str(tmp_path / "module.yaml"), str(tmp_path / "state")]
    pipe = subprocess.PIPE
    return subprocess.Popen([*command, loop], stdin=pipe, stdout=pipe, stderr=log, text=True, cwd=ROOT)


def starve_and_release(process: subprocess.Popen[str], server: FunctionServer, logged: Path) -> dict[str, int]:
    """One message acknowledged while the runtime has no free descriptor, then the descriptors released;
    returns the runtime's counters once stopped."""
    ports = ask(process)["ports"]
    with closing(http.client.HTTPConnection("127.0.0.1", ports["ingress"], timeout=10)) as ingress:
        ingress.connect()  # accepted while descriptors are free; kept (closing it would free one)
        assert ask(process, "hog")["held"] > 100
        headers = {"Content-Type": "application/vnd.test/text"}
        ingress.request("PUT", "/test/counter/k", body=b"starved", headers=headers)
        assert ingress.getresponse().status == 200  # acknowledged: stored for good
        deadline = time.monotonic() + 3 * CALL_TIMEOUT_S
        while "dead letters" not in (text := logged.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)  # the call timeout passes three times: before, a dead letter came after one
        assert "dead letters" not in text
        assert "ran short of a local resource (not the function's failure)" in text
        assert "Too many open files" in text
        assert text.count("ran short of a local resource") == 1  # said once, however often it is tried
        assert server.paths == []  # no call reached the function
        assert ask(process, "free")["freed"] > 100
    assert take(ports["egress"], "counts", 1, timeout=30) == ["k:1:starved:-"]  # delivered once they are back
    counters: dict[str, int] = ask(process, "stop")["counters"]
    return counters


@pytest.mark.parametrize(
    ("scheme", "loop"),
    [("http", "asyncio"), ("http", "uvloop"), ("https", "uvloop")],  # https: the TLS files are read at first use
)
def test_running_out_of_descriptors_delays_a_message_and_never_dead_letters_it(
    tmp_path: Path, scheme: str, loop: str
) -> None:
    server = FunctionServer(functions, tls=write_pki(tmp_path) if scheme == "https" else None)
    logged = tmp_path / "runtime.log"
    with in_thread(server), logged.open("w") as log:
        url = f"{scheme}://127.0.0.1:{server.port}/statefun"
        extra = MUTUAL if scheme == "https" else ""  # files next to module.yaml
        with start(
            tmp_path, endpoint("test/*", url, ASYNC_TLS.format(extra=extra)) + PLAYGROUND_IO, loop, log
        ) as process:
            try:
                counters = starve_and_release(process, server, logged)
            finally:
                if process.poll() is None:
                    process.kill()
    assert counters["dead_letters"] == 0
    assert counters["messages"] == 1
    assert counters["shortage_waits"] >= 3  # it kept trying while starved
    assert counters["retries"] == 0  # none of it used the retries that end in a dead letter
    assert len(server.paths) == 2  # the first call learns the counter's state spec, the second applies


def soft_open_files_limit(pid: int) -> int:
    for line in Path(f"/proc/{pid}/limits").read_text().splitlines():
        if line.startswith("Max open files"):
            return int(line.split()[3])
    raise AssertionError(f"no open-files line in /proc/{pid}/limits")


def test_dev_lifts_a_low_soft_open_files_limit_to_the_hard_one(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    assert hard >= 1024, f"the test needs a hard open-files limit of 1,024 or more, not {hard}"
    resource.setrlimit(resource.RLIMIT_NOFILE, (256, hard))  # inherited by the runtime process
    try:
        args = ("dev", str(ROOT / "tests/runtime/apps.py"), "--state", str(tmp_path / "state"))
        runtime = RuntimeProcess.start(tmp_path / "dev.log", *args, "--ingress-port", "0", "--egress-port", "0")
    finally:
        resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    try:
        wanted = 65536 if hard == resource.RLIM_INFINITY else min(hard, 65536)
        assert soft_open_files_limit(runtime.process.pid) == wanted
    finally:
        runtime.stop()
