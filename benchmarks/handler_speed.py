"""Handler speed: our RequestReplyHandler against apache-flink-statefun 3.3.0, side by side in one run.

    python benchmarks/handler_speed.py [--count 1000] [--rounds 3] [--batches 1,10,100]

Contenders, each in its own subprocess (two SDKs' generated classes must not share a
descriptor pool), all serving tests/reference/speed_functions.py unchanged:

- ``ours sync``: statefun_faas on upb protobuf, ``handle_sync`` with a synchronous function;
- ``ours async``: the same through ``handle_async``, awaited on one event loop;
- ``reference``: apache-flink-statefun 3.3.0 as users install it (its own virtual environment,
  protobuf<4, pure Python on Python 3.11+), ``handle_sync``, which is ``asyncio.run`` per request.

Each corpus holds ``--count`` distinct requests of one batch size; every round handles all of
them once, rounds alternate between the contenders, and each contender's best round counts.
Before timing, every contender's responses are checked to be byte-identical to ours. Prints
microseconds per request and ratios to ``ours sync``.
"""

from __future__ import annotations

import argparse
import importlib.util
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
WORKER = ROOT / "tests" / "reference" / "worker.py"
FUNCTIONS = ROOT / "tests" / "reference" / "speed_functions.py"
CONTENDERS = {"ours sync": ("ours", "sync"), "ours async": ("ours", "async"), "reference": ("reference", "sync")}


# --- the child: runs inside one contender's interpreter, imports no project code but worker.py ---


def read_corpus(path: Path) -> list[bytes]:
    data, requests, offset = path.read_bytes(), [], 0
    while offset < len(data):
        (size,) = struct.unpack_from(">I", data, offset)
        requests.append(data[offset + 4 : offset + 4 + size])
        offset += 4 + size
    return requests


def child(sdk: str, mode: str, corpus: Path) -> None:
    """Load the SDK and the corpus, print the responses' checksum, then time one pass per line read."""
    spec = importlib.util.spec_from_file_location("worker", WORKER)
    if spec is None or spec.loader is None:
        raise SystemExit(f"can not load {WORKER}")
    worker: Any = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(worker)
    handler = worker.load_sdk(sdk).RequestReplyHandler(worker.load_functions(str(FUNCTIONS), "functions"))
    requests = read_corpus(corpus)
    run = handle_all_sync if mode == "sync" else handle_all_async
    checksum = 0
    for response in run(handler, requests):  # also the warm-up
        checksum = zlib.crc32(response, checksum)
    print(checksum, flush=True)
    for _ in sys.stdin:
        print(timed(run, handler, requests) / len(requests), flush=True)


def handle_all_sync(handler: Any, requests: list[bytes]) -> list[bytes]:
    handle = handler.handle_sync
    return [handle(request) for request in requests]


def handle_all_async(handler: Any, requests: list[bytes]) -> list[bytes]:
    import asyncio

    async def handle_all() -> list[bytes]:
        return [await handler.handle_async(request) for request in requests]

    return asyncio.run(handle_all())


def timed(run: Any, handler: Any, requests: list[bytes]) -> float:
    start = time.perf_counter()
    run(handler, requests)
    return time.perf_counter() - start


# --- the parent: builds the corpora in our environment and runs the children ---


def build_corpus(batch: int, count: int, seed: int = 1) -> list[bytes]:
    """``count`` distinct requests of ``batch`` invocations each for ``bench/greeter``."""
    import random

    from statefun_faas import IntType, StringType, _wire
    from statefun_faas.types import to_typed_value

    rng = random.Random(seed)
    corpus = []
    for number in range(count):
        to_function = _wire.ToFunction()
        batch_request = to_function.invocation
        batch_request.target.namespace, batch_request.target.type = "bench", "greeter"
        batch_request.target.id = f"user-{number}"
        batch_request.state.add(state_name="seen", state_value=to_typed_value(IntType, rng.randrange(1000)))
        batch_request.state.add(state_name="last")
        for _ in range(batch):
            invocation = batch_request.invocations.add()
            if rng.random() < 0.5:
                invocation.caller.namespace, invocation.caller.type, invocation.caller.id = "bench", "caller", "c"
            invocation.argument.CopyFrom(to_typed_value(StringType, f"name-{rng.randrange(10**6)}"))
        corpus.append(to_function.SerializeToString())
    return corpus


class Child:
    """One contender's process, timing a pass over the corpus each time it is asked."""

    def __init__(self, python: Path, name: str, corpus: Path) -> None:
        sdk, mode = CONTENDERS[name]
        command = [str(python), str(Path(__file__).resolve()), "--child", sdk, mode, str(corpus)]
        self.name = name
        self.process = subprocess.Popen(command, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        self.checksum = int(self._line())
        self.best = float("inf")

    def _line(self) -> str:
        assert self.process.stdout is not None
        line = self.process.stdout.readline()
        if not line:
            raise SystemExit(f"{self.name} failed (exit code {self.process.wait()})")
        return line

    def time_one_pass(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()
        self.best = min(self.best, float(self._line()))

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=60)


def interpreters() -> dict[str, Path]:
    sys.path.insert(0, str(ROOT))
    from tests.reference.client import reference_python

    ours = Path(sys.executable)
    return {"ours sync": ours, "ours async": ours, "reference": reference_python()}


def measure(batches: list[int], count: int, rounds: int) -> list[list[str]]:
    """Rounds alternate between the contenders, so that a busy machine slows them alike."""
    pythons = interpreters()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        for batch in batches:
            corpus = build_corpus(batch, count)
            assert len(set(corpus)) == len(corpus)
            path = Path(folder) / f"batch-{batch}.bin"
            path.write_bytes(b"".join(struct.pack(">I", len(r)) + r for r in corpus))
            children = [Child(python, name, path) for name, python in pythons.items()]
            for _ in range(rounds):
                for contender in children:
                    contender.time_one_pass()
            for contender in children:
                contender.close()
            base = children[0]
            for contender in children:
                same = "yes" if contender.checksum == base.checksum else "NO"
                micros = contender.best * 1e6
                rows.append([str(batch), contender.name, f"{micros:.1f}", f"{contender.best / base.best:.2f}x", same])
    return rows


def print_table(rows: list[list[str]]) -> None:
    header = ["batch", "contender", "us/request", "vs ours sync", "same bytes"]
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    for row in [header, ["-" * w for w in widths], *rows]:
        print("  ".join(cell.rjust(width) for cell, width in zip(row, widths, strict=True)))


def main() -> None:
    if len(sys.argv) > 1 and sys.argv[1] == "--child":
        child(sys.argv[2], sys.argv[3], Path(sys.argv[4]))
        return
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--count", type=int, default=1000, help="distinct requests per corpus (default 1000)")
    parser.add_argument("--rounds", type=int, default=5, help="timed rounds per contender, best counts")
    parser.add_argument("--batches", default="1,10,100", help="batch sizes, comma-separated")
    options = parser.parse_args()
    batches = [int(b) for b in options.batches.split(",")]
    print(f"Python {sys.version.split()[0]}; {options.count} distinct requests per corpus, best of {options.rounds}")
    print_table(measure(batches, options.count, options.rounds))


if __name__ == "__main__":
    main()
