"""Registers the hypothesis profiles of tests/fuzz (see profiles.py) when pytest collects them."""

from tests.fuzz import profiles  # noqa: F401 (registering the profiles is the import's effect)
