"""Serve a functions module with an SDK in a long-lived subprocess: framed requests in, framed answers out.

Run as ``python worker.py SDK FUNCTIONS_FILE [ATTR]`` where SDK is ``reference`` (the
``statefun`` package of apache-flink-statefun, made importable as ``statefun_faas`` so that a
module written for statefun_faas runs unchanged on it) or ``ours``. This file imports nothing
from the tests package: it runs inside the reference's own virtual environment.

Frames on stdin: a 4-byte big-endian length, then the ToFunction bytes; a zero length ends the
worker. Frames on stdout: one status byte (``0`` = FromFunction bytes follow, ``1`` = the
handler raised and ``ExceptionType: message`` follows as UTF-8), a 4-byte length, the payload.
Every request is handled afresh; nothing is cached.
"""

from __future__ import annotations

import importlib
import importlib.util
import struct
import sys
from typing import Any, BinaryIO

OK, RAISED = 0, 1


def load_sdk(sdk: str) -> Any:
    if sdk == "reference":
        package = importlib.import_module("statefun")
        sys.modules["statefun_faas"] = package
        return package
    return importlib.import_module("statefun_faas")


def load_functions(path: str, attr: str) -> Any:
    spec = importlib.util.spec_from_file_location("conformance_functions", path)
    if spec is None or spec.loader is None:
        raise SystemExit(f"can not load a functions module from {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return getattr(module, attr)


def read_exactly(stream: BinaryIO, size: int) -> bytes:
    data = stream.read(size)
    if len(data) != size:
        raise SystemExit("the parent closed the stream mid-frame")
    return data


def write_frame(stream: BinaryIO, status: int, payload: bytes) -> None:
    stream.write(struct.pack(">BI", status, len(payload)) + payload)
    stream.flush()


def serve(handler: Any, source: BinaryIO, sink: BinaryIO) -> None:
    while True:
        (size,) = struct.unpack(">I", read_exactly(source, 4))
        if size == 0:
            return
        request = read_exactly(source, size)
        try:
            response = handler.handle_sync(request)
        except Exception as error:
            write_frame(sink, RAISED, f"{type(error).__name__}: {error}".encode("utf-8", "replace"))
        else:
            write_frame(sink, OK, response)


def main() -> None:
    sdk, path = sys.argv[1], sys.argv[2]
    attr = sys.argv[3] if len(sys.argv) > 3 else "functions"
    package = load_sdk(sdk)
    handler = package.RequestReplyHandler(load_functions(path, attr))
    serve(handler, sys.stdin.buffer, sys.stdout.buffer)


if __name__ == "__main__":
    main()
