"""Regenerate vectors.json: requests and the answers apache-flink-statefun 3.3.0 gives them.

Run from the repository root: ``python -m tests.golden.regenerate``. It builds (or reuses) the
reference's virtual environment, so it needs PyPI the first time. The vectors are the named
cases of tests/reference/cases.py plus a few requests of the random corpus.
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.reference.cases import all_cases
from tests.reference.client import Worker, reference_python
from tests.reference.corpus import Corpus

VECTORS = Path(__file__).resolve().parent / "vectors.json"
SEED = 7
RANDOM_COUNT = 24


def requests() -> dict[str, bytes]:
    named = all_cases()
    corpus = Corpus(SEED, max_batch=3).requests(RANDOM_COUNT)
    return named | {f"random-{index}": request for index, request in enumerate(corpus)}


def main() -> None:
    worker = Worker(reference_python())
    vectors = []
    try:
        for name, request in requests().items():
            outcome = worker.handle(request)
            answer = {"raises": outcome.payload.decode()} if outcome.raised else {"response": outcome.payload.hex()}
            vectors.append({"name": name, "request": request.hex(), **answer})
    finally:
        worker.close()
    VECTORS.write_text(json.dumps(vectors, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"wrote {len(vectors)} vectors to {VECTORS}")


if __name__ == "__main__":
    main()
