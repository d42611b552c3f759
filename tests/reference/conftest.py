"""The reference SDK worker, one per test session, in the reference's own virtual environment."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.reference.client import Worker, reference_python


@pytest.fixture(scope="session")
def reference() -> Iterator[Worker]:
    worker = Worker(reference_python())
    yield worker
    worker.close()
