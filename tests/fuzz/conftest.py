"""Registers the hypothesis profiles of tests/fuzz (see profiles.py) when pytest collects them.

A failing fuzz input can be megabytes long: hypothesis then warns that its repr is large
while it reports the failure, and under ``filterwarnings = error`` that warning would hide
the report. These two warnings, raised only while a failure is reported, are let through.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.fuzz import profiles  # noqa: F401 (registering the profiles is the import's effect)

_HERE = Path(__file__).parent
_REPORTING_WARNINGS = [
    "ignore:Generating overly large repr",
    "ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning",
]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if _HERE in item.path.parents or item.path.parent == _HERE.with_name("security"):
            for warning in _REPORTING_WARNINGS:
                item.add_marker(pytest.mark.filterwarnings(warning))
