"""Hypothesis budgets for the fuzz and security properties.

``ci`` (the default) is small and derandomized, so every run checks the same inputs in a few
seconds. ``full`` explores: select it with ``STATEFUN_FAAS_FUZZ=full`` (and optionally
``STATEFUN_FAAS_FUZZ_EXAMPLES=N`` examples per property). Properties apply :func:`fuzz`
themselves, so loading these profiles never changes other tests' hypothesis settings.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any, TypeVar

import pytest
from hypothesis import HealthCheck, settings

F = TypeVar("F", bound=Callable[..., Any])

PROFILE_ENV = "STATEFUN_FAAS_FUZZ"
EXAMPLES_ENV = "STATEFUN_FAAS_FUZZ_EXAMPLES"

# No deadline: a slow shared machine must not fail a property. Hangs are caught by the
# atheris target's libFuzzer -timeout instead.
_SLOW_IS_FINE = [HealthCheck.too_slow, HealthCheck.data_too_large]
settings.register_profile(
    "ci", max_examples=60, derandomize=True, database=None, deadline=None, suppress_health_check=_SLOW_IS_FINE
)
settings.register_profile(
    "full",
    max_examples=int(os.environ.get(EXAMPLES_ENV, "3000")),
    deadline=None,
    suppress_health_check=_SLOW_IS_FINE,
)

PROFILE = os.environ.get(PROFILE_ENV, "ci")
if PROFILE not in ("ci", "full"):
    raise ValueError(f"{PROFILE_ENV}={PROFILE!r}: use 'ci' (the default) or 'full'")

SETTINGS = settings.get_profile(PROFILE)
#: A failing input can be megabytes long: hypothesis then warns that its repr is large while
#: it reports the failure, and under ``filterwarnings = error`` that warning would hide it.
_LARGE_REPR = pytest.mark.filterwarnings("ignore:Generating overly large repr")


def fuzz(test: F) -> F:
    """Decorator for every property in tests/fuzz and tests/security (put it above ``@given``)."""
    decorated: F = _LARGE_REPR(SETTINGS(test))
    return decorated
