"""Deployment helpers: ``statefun-faas module`` (module.yaml from deployed URLs) and ``statefun-faas package``."""

from __future__ import annotations

from statefun_faas.errors import ConfigurationError

__all__ = ["DeployError"]


class DeployError(ConfigurationError):
    """A deployment input (URL, stack, terraform output, package target) is unusable; the message says how to fix it."""
