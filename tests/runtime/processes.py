"""Runtimes as real processes: start ``statefun-faas run`` / ``dev``, learn their ports from the log, kill them."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path

LISTENING = re.compile(r"listening on http://[^:]+:(\d+): (.*)")


def cli(*args: str, env: dict[str, str] | None = None, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "statefun_faas.cli", *args]
    return subprocess.run(command, capture_output=True, text=True, timeout=timeout, env=env, check=False)


@dataclass
class RuntimeProcess:
    process: subprocess.Popen[bytes]
    log: Path
    ports: dict[str, int]

    @classmethod
    def start(cls, log: Path, *args: str, failpoint: str | None = None) -> RuntimeProcess:
        env = dict(os.environ)
        env.pop("STATEFUN_FAAS_FAILPOINT", None)
        if failpoint:
            env["STATEFUN_FAAS_FAILPOINT"] = failpoint
        with log.open("wb") as sink:
            command = [sys.executable, "-m", "statefun_faas.cli", *args]
            process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
        runtime = cls(process, log, {})
        runtime._wait_ready()
        return runtime

    def _wait_ready(self, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            text = self.log.read_text(errors="replace")
            if "running; Ctrl-C stops" in text:
                for port, what in LISTENING.findall(text):
                    if "ingress" in what:
                        self.ports.setdefault("ingress", int(port))
                    if "egress" in what:
                        self.ports.setdefault("egress", int(port))
                return
            if self.process.poll() is not None:
                raise AssertionError(f"runtime exited with {self.process.returncode}:\n{text}")
            time.sleep(0.05)
        raise AssertionError(f"runtime did not start:\n{self.log.read_text()}")

    def killed(self, timeout: float = 60) -> bool:
        """Wait for the process to end; True when SIGKILL ended it (a failpoint fired)."""
        return self.process.wait(timeout) == -signal.SIGKILL

    def stop(self) -> int:
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
        return self.process.wait(20)


def put(port: int, path: str, body: bytes, typename: str = "test/text") -> bool:
    """True once the runtime acknowledged the message (200)."""
    request = urllib.request.Request(f"http://127.0.0.1:{port}/{path}", data=body, method="PUT")
    request.add_header("Content-Type", f"application/vnd.{typename}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, ConnectionError):
        return False


def get(port: int, topic: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/{topic}", timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def take(port: int, topic: str, expected: int, timeout: float = 60) -> list[str]:
    found: list[str] = []
    deadline = time.monotonic() + timeout
    while len(found) < expected and time.monotonic() < deadline:
        code, body = get(port, topic)
        if code == 200:
            found.append(body.decode())
        else:
            time.sleep(0.05)
    return found


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.05)
