"""Import a platform library lazily, failing with the extra that installs it."""

from __future__ import annotations

import importlib
from types import ModuleType


def import_extra(module: str, extra: str) -> ModuleType:
    """``importlib.import_module(module)``, or an ImportError telling which extra to install."""
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"{module} is not installed; this adapter needs it: pip install 'statefun-faas[{extra}]'"
        ) from error
