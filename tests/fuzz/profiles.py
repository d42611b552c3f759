"""Hypothesis budgets for the fuzz and security properties.

``ci`` (the default) is small and derandomized, so every run checks the same inputs in a few
seconds. ``full`` explores: select it with ``STATEFUN_FAAS_FUZZ=full`` (and optionally
``STATEFUN_FAAS_FUZZ_EXAMPLES=N`` examples per property). Properties apply :data:`FUZZ`
themselves, so loading these profiles never changes other tests' hypothesis settings.
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

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

#: Decorator for every property in tests/fuzz and tests/security.
FUZZ = settings.get_profile(PROFILE)
