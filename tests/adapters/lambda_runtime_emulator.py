"""A small Lambda Runtime API emulator, to run the real awslambdaric runtime loop offline.

AWS's runtime interface emulator is a Go binary that cannot be installed here, so this
speaks the few Runtime API routes awslambdaric uses (``/2018-06-01/runtime/...``):
``invocation/next`` hands out queued events, ``invocation/<id>/response`` and
``invocation/<id>/error`` record the answers, ``init/error`` records a failed start.

Use one emulator per spawned runtime: a killed runtime can leave a request blocked in
``next`` that would take the following event.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import IO, Any

PREFIX = "/2018-06-01/runtime"
REPOSITORY = Path(__file__).resolve().parents[2]
FUNCTION_ARN = "arn:aws:lambda:eu-west-1:123456789012:function:statefun"


@dataclass(frozen=True)
class Result:
    """What the runtime posted back for one invocation."""

    request_id: str
    kind: str  # "response" or "error"
    payload: Any


@dataclass
class RuntimeApiEmulator:
    """The Runtime API on 127.0.0.1 and a free port; :meth:`invoke` runs one event."""

    events: queue.Queue[tuple[str, bytes]] = field(default_factory=queue.Queue)
    results: dict[str, queue.Queue[Result]] = field(default_factory=dict)
    init_errors: list[Any] = field(default_factory=list)
    closed: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.server = _Server(("127.0.0.1", 0), _handler_class(self))
        self.thread = threading.Thread(target=self.server.serve_forever, name="runtime-api", daemon=True)
        self.thread.start()

    @property
    def address(self) -> str:
        host, port = self.server.server_address[:2]
        return f"{host!s}:{port}"

    def submit(self, event: Any) -> str:
        request_id = str(uuid.uuid4())
        self.results[request_id] = queue.Queue(maxsize=1)
        self.events.put((request_id, json.dumps(event).encode("utf-8")))
        return request_id

    def result(self, request_id: str, timeout: float = 30.0) -> Result:
        try:
            return self.results[request_id].get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError(f"no answer for invocation {request_id} within {timeout} s") from None

    def invoke(self, event: Any, timeout: float = 30.0) -> Result:
        return self.result(self.submit(event), timeout)

    def close(self) -> None:
        self.closed.set()
        self.server.shutdown()
        self.server.server_close()

    def next_event(self) -> tuple[str, bytes] | None:
        """Block until an event is queued; None once the emulator is closing."""
        while not self.closed.is_set():
            try:
                return self.events.get(timeout=0.2)
            except queue.Empty:
                continue
        return None

    def record(self, request_id: str, kind: str, body: bytes) -> bool:
        waiting = self.results.get(request_id)
        if waiting is None:
            return False
        waiting.put(Result(request_id, kind, json.loads(body) if body else None))
        return True


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a runtime killed while it waited
            super().handle_error(request, client_address)


def _handler_class(emulator: RuntimeApiEmulator) -> type[BaseHTTPRequestHandler]:
    class RuntimeApiHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        disable_nagle_algorithm = True  # otherwise each round trip waits on delayed ACKs

        def do_GET(self) -> None:
            if self.path != f"{PREFIX}/invocation/next":
                return self._reply(404, b'{"errorMessage": "not found"}')
            queued = emulator.next_event()
            if queued is None:
                return self._reply(503, b'{"errorMessage": "shutting down"}')
            request_id, body = queued
            self._reply(200, body, _invocation_headers(request_id))

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            parts = self.path.removeprefix(PREFIX + "/").split("/")
            if parts == ["init", "error"]:
                emulator.init_errors.append(json.loads(body) if body else None)
                return self._reply(202, b'{"status": "OK"}')
            is_answer = len(parts) == 3 and parts[0] == "invocation" and parts[2] in ("response", "error")
            if is_answer and emulator.record(parts[1], parts[2], body):
                return self._reply(202, b'{"status": "OK"}')
            self._reply(404, b'{"errorMessage": "unknown invocation"}')

        def _reply(self, status: int, body: bytes, headers: Mapping[str, str] | None = None) -> None:
            self.send_response(status)
            for name, value in {"Content-Type": "application/json", **(headers or {})}.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002  (the base class's name)
            pass  # keep test output quiet

    return RuntimeApiHandler


def _invocation_headers(request_id: str) -> dict[str, str]:
    return {
        "Lambda-Runtime-Aws-Request-Id": request_id,
        "Lambda-Runtime-Deadline-Ms": str(int(time.time() * 1000) + 60_000),
        "Lambda-Runtime-Invoked-Function-Arn": FUNCTION_ARN,
        "Lambda-Runtime-Trace-Id": f"Root=1-{int(time.time()):08x}-{uuid.uuid4().hex[:24]};Sampled=0",
    }


@dataclass
class Runtime:
    """A running ``python -m awslambdaric`` process and its emulator."""

    api: RuntimeApiEmulator
    process: subprocess.Popen[bytes]
    output: IO[bytes]

    def invoke(self, event: Any, timeout: float = 30.0) -> Result:
        """Queue ``event`` and wait for the runtime's answer, failing early if the process dies."""
        request_id = self.api.submit(event)
        deadline = time.monotonic() + timeout
        while True:
            try:
                return self.api.result(request_id, 0.2)
            except TimeoutError:
                if self.process.poll() is not None:
                    raise RuntimeError(f"the runtime exited with {self.process.returncode}:\n{self.log()}") from None
                if time.monotonic() > deadline:
                    raise TimeoutError(f"no answer within {timeout} s; runtime output:\n{self.log()}") from None

    def log(self) -> str:
        self.output.seek(0)
        return self.output.read().decode("utf-8", "replace")


def runtime_env(api: RuntimeApiEmulator, task_root: Path, handler: str) -> dict[str, str]:
    return {
        **os.environ,
        "AWS_LAMBDA_RUNTIME_API": api.address,
        "LAMBDA_TASK_ROOT": str(task_root),
        "_HANDLER": handler,
        "AWS_LAMBDA_FUNCTION_NAME": "statefun",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "512",
        "AWS_LAMBDA_LOG_GROUP_NAME": "/aws/lambda/statefun",
        "AWS_LAMBDA_LOG_STREAM_NAME": "2026/11/26/[$LATEST]0123456789abcdef",
        "AWS_REGION": "eu-west-1",
    }


def write_task_root(task_root: Path, app_source: str) -> None:
    """Lay out a Lambda task root: ``app.py`` with ``app_source``, able to import the repository.

    The repository goes at the *end* of ``sys.path``, for the ``tests`` package only: ``statefun_faas`` stays
    the installed package, as in a real task root.
    """
    preamble = f"import sys\nsys.path.append({str(REPOSITORY)!r})\n"
    (task_root / "app.py").write_text(preamble + app_source, "utf-8")


@contextmanager
def lambda_runtime(
    app_source: str, handler: str = "app.handler", env: Mapping[str, str] | None = None
) -> Iterator[Runtime]:
    """Spawn ``python -m awslambdaric app.handler`` in a task root holding ``app_source``; ``env`` adds variables."""
    api = RuntimeApiEmulator()
    with tempfile.TemporaryDirectory() as folder, tempfile.TemporaryFile() as output:
        task_root = Path(folder)
        write_task_root(task_root, app_source)
        process = subprocess.Popen(
            [sys.executable, "-m", "awslambdaric", handler],
            cwd=task_root,
            env={**runtime_env(api, task_root, handler), **(env or {})},
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
        )
        try:
            yield Runtime(api, process, output)
        finally:
            process.kill()
            process.wait()
            api.close()
