"""Stores a test opens, closed after it: Python 3.13 reports an unclosed SQLite connection as a ResourceWarning,
which fails whichever test is running when the connection is collected.

A test module imports ``close_opened_stores`` (an autouse fixture) and passes each store it opens to
:func:`opened`.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from statefun_faas.runtime.store.database import Store

_OPENED: list[Store] = []


def opened(store: Store) -> Store:
    """``store``, closed when the running test ends."""
    _OPENED.append(store)
    return store


@pytest.fixture(autouse=True)
def close_opened_stores() -> Iterator[None]:
    yield
    while _OPENED:
        _OPENED.pop().close()
