"""Processes the engine fixtures own: each in a session of its own, its output in a log file, waited for, ended.

Every JVM and server the fixtures start goes through :func:`start`, so teardown can end its whole
process group (a script and the JVM it runs) and leave nothing behind.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

LOG4J = """log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File={log}
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=%d{{HH:mm:ss,SSS}} %-5p %c{{1}} - %m%n
"""

#: (what, seconds) of every start the fixtures timed; printed at the end of the session
TIMINGS: list[tuple[str, float]] = []


class EngineSetupError(RuntimeError):
    """Something the engine tests need is missing or did not start: the message says what and how to fix it."""


@dataclass
class Service:
    """A process we started (in its own session), with its log."""

    name: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def pid(self) -> int:
        return self.process.pid

    def running(self) -> bool:
        return self.process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log)"
        return "\n".join(text.splitlines()[-lines:])

    def _signal_group(self, sig: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, sig)  # the session we made: the process and its children

    def kill(self) -> None:
        """SIGKILL the process and everything it started; wait until it is gone."""
        self._signal_group(signal.SIGKILL)
        self.process.wait(30)

    def stop(self, grace: float = 20) -> None:
        """SIGTERM, then SIGKILL after ``grace`` seconds; children go too."""
        if self.running():
            self._signal_group(signal.SIGTERM)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.process.wait(grace)
        self.kill()


def start(
    name: str, command: Sequence[str], log: Path, env: Mapping[str, str] | None = None, cwd: Path | None = None
) -> Service:
    """Start ``command`` in a new session, stdout and stderr into ``log``."""
    log.parent.mkdir(parents=True, exist_ok=True)
    with log.open("ab") as sink:
        process = subprocess.Popen(
            list(command),
            stdin=subprocess.DEVNULL,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=dict(env) if env is not None else None,
            cwd=cwd,
            start_new_session=True,
        )
    return Service(name, process, log)


def wait_until(
    condition: Callable[[], bool], what: str, services: Sequence[Service], timeout: float, poll: float = 0.1
) -> float:
    """Poll ``condition`` until it holds; the seconds it took. Fails early, with the logs, if a service ends."""
    started = time.monotonic()
    while True:
        if condition():
            return time.monotonic() - started
        for service in services:
            if not service.running():
                raise EngineSetupError(
                    f"{service.name} exited with {service.process.returncode} while waiting for {what}; "
                    f"its log {service.log}:\n{service.log_tail()}"
                )
        if time.monotonic() - started > timeout:
            tails = "\n".join(f"--- {s.name} ({s.log}):\n{s.log_tail()}" for s in services)
            raise EngineSetupError(f"timed out after {timeout:.0f} s waiting for {what}\n{tails}")
        time.sleep(poll)


def port_open(port: int, host: str = "127.0.0.1") -> bool:
    with socket.socket() as sock:
        sock.settimeout(1)
        return sock.connect_ex((host, port)) == 0


def free_ports(count: int) -> list[int]:
    """``count`` distinct loopback ports free right now (held open together so they differ)."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for sock in sockets:
            sock.bind(("127.0.0.1", 0))
        return [int(sock.getsockname()[1]) for sock in sockets]
    finally:
        for sock in sockets:
            sock.close()


def log4j_properties(folder: Path, log: Path) -> Path:
    """A log4j 1 configuration writing to ``log`` (Kafka runs reload4j, the harness log4j 1.2)."""
    path = folder / "log4j.properties"
    path.write_text(LOG4J.format(log=log))
    return path
