"""Load a StatefulFunctions registry named on the command line: ``module_or_file[:attr]``."""

from __future__ import annotations

import importlib
import importlib.util
import sys
from pathlib import Path

from statefun_faas.errors import ConfigurationError
from statefun_faas.functions import StatefulFunctions

DEFAULT_ATTRIBUTE = "functions"


def load_functions(target: str) -> StatefulFunctions:
    """Import ``module.path`` or ``path/to/file.py`` and return its registry attribute.

    The attribute defaults to ``functions``: ``examples/greeter/functions.py:functions``.
    """
    location, _, attribute = target.partition(":")
    attribute = attribute or DEFAULT_ATTRIBUTE
    module = _import(location)
    registry = getattr(module, attribute, None)
    if not isinstance(registry, StatefulFunctions):
        found = "nothing" if registry is None else type(registry).__name__
        raise ConfigurationError(
            f"{target!r}: expected a StatefulFunctions registry named {attribute!r} in {location!r}, found {found}; "
            f"name it as module_or_file:attribute"
        )
    return registry


def _import(location: str) -> object:
    path = Path(location)
    if location.endswith(".py") or path.is_file():
        if not path.is_file():
            raise ConfigurationError(f"no such file: {location!r}")
        name = f"_statefun_faas_target_{path.stem}"
        spec = importlib.util.spec_from_file_location(name, path)
        if spec is None or spec.loader is None:
            raise ConfigurationError(f"can not import {location!r} as Python")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        folder = str(path.resolve().parent)
        if folder not in sys.path:
            sys.path.insert(0, folder)  # so the file can import its neighbours
        spec.loader.exec_module(module)
        return module
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as error:
        raise ConfigurationError(f"can not import module {location!r}: {error}") from None
