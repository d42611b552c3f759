"""One contender of benchmarks/handler.py, run in its own process (and, for the reference, venv).

``python _handler_worker.py CONTENDER CORPUS SECONDS`` prints one JSON line: CPU microseconds per
request (best pass through the corpus) and a digest of the first pass's responses,
so the caller can check every contender answered byte for byte the same.
"""

from __future__ import annotations

import asyncio
import hashlib
import importlib
import json
import os
import struct
import sys
import time
from collections.abc import Callable
from typing import Any

CORPUS_SIZE = int(os.environ.get("BENCH_CORPUS_SIZE", "1000"))


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        byte, n = n & 0x7F, n >> 7
        out.append(byte | (0x80 if n else 0))
        if not n:
            return bytes(out)


def _string(text: str) -> bytes:
    data = text.encode("utf-8")
    return b"\x0a" + _varint(len(data)) + data if data else b""


def _int(value: int) -> bytes:
    return b"\x0d" + struct.pack("<i", value) if value else b""


def build_corpus(to_function: Any, kind: str) -> list[bytes]:
    """CORPUS_SIZE distinct requests for bench/greeter: 1 or 100 invocations, or no state."""
    batch_size = 100 if kind == "batch100" else 1
    requests = []
    for i in range(CORPUS_SIZE):
        request = to_function()
        batch = request.invocation
        batch.target.namespace, batch.target.type, batch.target.id = "bench", "greeter", f"user-{i}"
        if kind != "missing":
            state = batch.state.add(state_name="seen")
            if i % 10:  # one in ten holds no value yet
                value = state.state_value
                value.typename, value.has_value, value.value = "io.statefun.types/int", True, _int(i * 7 - 3000)
        for j in range(batch_size):
            invocation = batch.invocations.add()
            if (i + j) % 2:
                invocation.caller.namespace, invocation.caller.type, invocation.caller.id = "bench", "caller", str(j)
            argument = invocation.argument
            argument.typename, argument.has_value = "io.statefun.types/string", True
            argument.value = _string(f"name-{i}-{j}-ü")
        requests.append(request.SerializeToString())
    return requests


def contender(name: str) -> tuple[Callable[[bytes], bytes], Any]:
    """The request handler to measure and the ToFunction class of its SDK.

    Modules are imported by name: this file runs both in our environment and in the
    reference's, where only one of the SDKs exists.
    """
    load = importlib.import_module
    if name == "floor":
        return load("floor").handle, load("statefun_faas._wire").ToFunction
    if name == "statefun_faas":
        handler = load("statefun_faas").RequestReplyHandler(load("bench_functions").functions)
        return handler.handle_sync, load("statefun_faas._wire").ToFunction
    statefun = load("statefun")
    sys.modules["statefun_faas"] = statefun  # the same functions module runs on the reference
    reference = statefun.RequestReplyHandler(load("bench_functions").functions)
    to_function = load("statefun.request_reply_pb2").ToFunction
    if name == "reference-installed":
        return reference.handle_sync, to_function
    loop = asyncio.new_event_loop()  # reference at its best: handle_async on one kept loop
    return (lambda request: loop.run_until_complete(reference.handle_async(request))), to_function


def main() -> None:
    name, kind, seconds = sys.argv[1], sys.argv[2], float(sys.argv[3])
    handle, to_function = contender(name)
    corpus = build_corpus(to_function, kind)
    digest = hashlib.sha256()
    for request in corpus:
        digest.update(handle(request))
    # CPU time of this process, best pass: the machine may be busy with other work.
    passes: list[float] = []
    deadline = time.perf_counter() + seconds
    exact = int(os.environ.get("BENCH_PASSES", "0"))  # for instruction counting under callgrind
    while (len(passes) < exact) if exact else (len(passes) < 5 or time.perf_counter() < deadline):
        started = time.process_time()
        for request in corpus:
            handle(request)
        passes.append((time.process_time() - started) / len(corpus) * 1e6)
    print(json.dumps({"us": min(passes), "digest": digest.hexdigest()}))


if __name__ == "__main__":
    main()
