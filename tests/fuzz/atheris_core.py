"""Atheris (libFuzzer, coverage-guided) target for the protocol core and the shared HTTP edge.

Runs alone, from the repository root::

    python tests/fuzz/atheris_core.py --seconds 60          # a time budget
    python tests/fuzz/atheris_core.py -runs=100000          # any libFuzzer flag works too

Without a corpus folder on the command line it starts from a fresh temporary one seeded with
the conformance requests. Every input must get an answer from the HTTP edge's status table
(tests/fuzz/answers.py); anything else (an exception, a wrong answer, an input running past
libFuzzer's ``-timeout``) is a crash, written to ``-artifact_prefix``.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import tempfile
from pathlib import Path

import atheris

sys.path.append(str(Path(__file__).resolve().parents[2]))  # run as a script: make `tests` importable

with atheris.instrument_imports(include=["statefun_faas"]):
    from statefun_faas.adapters.edge import Edge
    from statefun_faas.handler import RequestReplyHandler

from tests.adapters.conformance import CASES, TOKENS
from tests.fuzz.answers import PROBE, PROBE_ANSWER, check_edge, check_scoped
from tests.fuzz.libfuzzer import libfuzzer_arguments
from tests.fuzz.registry import FUNCTIONS


class Lines(logging.Handler):
    """Formats every record (tracebacks too), as a real log handler would, and keeps the lines."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.setFormatter(logging.Formatter("%(levelname)s %(name)s %(message)s"))
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


LINES = Lines()
EDGE = Edge.create(RequestReplyHandler(FUNCTIONS), "fuzz", tokens=TOKENS, request_log=LINES.lines.append)
LOOP = asyncio.new_event_loop()
#: First byte of an input: which entry point gets the rest.
BODY, ASYNC_BODY, REQUEST = 0, 1, 2


def test_one_input(data: bytes) -> None:
    LINES.lines.clear()
    try:
        answer(data)
    finally:
        for line in LINES.lines:
            assert not any(token in line for token in TOKENS), f"a token was logged: {line[:300]!r}"


def answer(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 3, data[1:]
    if mode == REQUEST:
        provider = atheris.FuzzedDataProvider(rest)
        method = provider.PickValueInList(["POST", "GET", "PUT", provider.ConsumeUnicodeNoSurrogates(6)])
        path = provider.ConsumeUnicodeNoSurrogates(24)
        query = provider.ConsumeUnicodeNoSurrogates(40)
        body = provider.ConsumeBytes(provider.remaining_bytes())
        check_edge(EDGE.handle(method, path, query, body))
        return
    response = EDGE.handle_body(rest) if mode == BODY else LOOP.run_until_complete(EDGE.handle_body_async(rest))
    check_edge(response)
    if response.status == 200:
        check_scoped(rest, response.body)
    if data[0] == 0xFF:  # now and then: the edge still serves a good request exactly
        assert EDGE.handle_body(PROBE).body == PROBE_ANSWER


def seeds(folder: Path) -> None:
    """The conformance bodies, each behind every mode byte."""
    for index, case in enumerate(CASES):
        for mode in (BODY, ASYNC_BODY, 0xFF):
            (folder / f"case{index}-{mode}").write_bytes(bytes([mode]) + case.body)


def main() -> None:
    logging.basicConfig(level=logging.DEBUG, handlers=[LINES], force=True)
    with tempfile.TemporaryDirectory(prefix="statefun-faas-atheris-") as corpus:
        atheris.Setup(libfuzzer_arguments(sys.argv, Path(corpus), seeds), test_one_input)
        atheris.Fuzz()


if __name__ == "__main__":
    main()
