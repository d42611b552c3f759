"""Talk to a worker (worker.py) running one SDK in its own process, and to our handler the same way."""

from __future__ import annotations

import struct
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import IO

from statefun_faas import RequestReplyHandler
from tests.venvs import ensure_venv

HERE = Path(__file__).resolve().parent
WORKER = HERE / "worker.py"
FUNCTIONS = HERE / "functions.py"
#: what the reference SDK is, as users install it (it brings protobuf<4 along)
REFERENCE_REQUIREMENTS = ["apache-flink-statefun==3.3.0"]


@dataclass(frozen=True)
class Outcome:
    """What a handler did with one request: response bytes, or the exception it raised."""

    raised: bool
    payload: bytes  # FromFunction bytes, or "ExceptionType: message" when raised

    @property
    def error_type(self) -> str:
        return self.payload.decode("utf-8", "replace").split(":", 1)[0] if self.raised else ""

    def same_as(self, other: Outcome) -> bool:
        """Equal responses byte for byte, or both raised (exception types differ between SDKs)."""
        return self.raised == other.raised and (self.raised or self.payload == other.payload)


def our_outcome(handler: RequestReplyHandler, request: bytes) -> Outcome:
    try:
        return Outcome(False, handler.handle_sync(request))
    except Exception as error:
        return Outcome(True, f"{type(error).__name__}: {error}".encode())


def reference_python() -> Path:
    """The interpreter of the reference SDK's own virtual environment (built on first use)."""
    return ensure_venv("reference", REFERENCE_REQUIREMENTS)


class Worker:
    """One long-lived worker process serving ``functions_file`` with ``sdk`` (``reference`` or ``ours``)."""

    def __init__(self, python: Path, sdk: str = "reference", functions_file: Path = FUNCTIONS) -> None:
        self._process = subprocess.Popen(
            [str(python), str(WORKER), sdk, str(functions_file)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        stdin, stdout = self._process.stdin, self._process.stdout
        if stdin is None or stdout is None:
            raise RuntimeError("the worker was started without pipes")
        return stdin, stdout

    def handle(self, request: bytes) -> Outcome:
        stdin, stdout = self._pipes()
        if not request:
            raise ValueError("an empty request would end the worker; send at least one byte")
        stdin.write(struct.pack(">I", len(request)) + request)
        stdin.flush()
        header = stdout.read(5)
        if len(header) != 5:
            raise RuntimeError(f"the worker died (exit code {self._process.wait()}); see its stderr above")
        status, size = struct.unpack(">BI", header)
        return Outcome(status == 1, stdout.read(size))

    def close(self) -> None:
        stdin, stdout = self._pipes()
        stdin.write(struct.pack(">I", 0))
        stdin.close()
        self._process.wait(timeout=30)
        stdout.close()


def run_with_reference(code: str) -> str:
    """Run ``code`` in the reference's venv with ``statefun`` importable as ``statefun_faas``; its stdout."""
    prelude = "import sys, statefun; sys.modules['statefun_faas'] = statefun\n"
    result = subprocess.run(
        [str(reference_python()), "-c", prelude + code], capture_output=True, text=True, check=False, timeout=60
    )
    if result.returncode != 0:
        raise RuntimeError(f"the reference snippet failed:\n{result.stderr}")
    return result.stdout.strip()
