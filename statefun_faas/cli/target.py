"""Load a StatefulFunctions registry named on the command line: ``module_or_file[:attr]``."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
import traceback
from pathlib import Path

import statefun_faas
from statefun_faas.errors import ConfigurationError
from statefun_faas.functions import StatefulFunctions

DEFAULT_ATTRIBUTE = "functions"
#: frames of these folders come before the user's in an import's traceback: statefun_faas's and importlib's
_NOT_USERS = tuple(str(Path(package.__file__ or "").resolve().parent) for package in (statefun_faas, importlib))


class UserCodeError(ConfigurationError):
    """Importing the user's code raised; ``user_traceback`` holds the user's frames only."""

    def __init__(self, location: str, error: BaseException) -> None:
        super().__init__(
            f"importing {location!r} raised {type(error).__name__}: {error} (see the traceback above); fix it and rerun"
        )
        tb = error.__traceback__
        while tb is not None and _not_users(tb.tb_frame.f_code.co_filename):
            tb = tb.tb_next
        self.user_traceback = "".join(traceback.format_exception(type(error), error, tb))


def _not_users(filename: str) -> bool:
    return filename.startswith("<frozen ") or str(Path(filename).resolve()).startswith(_NOT_USERS)


def load_functions(target: str) -> StatefulFunctions:
    """Import ``module.path`` or ``path/to/file.py`` and return its registry attribute.

    The attribute defaults to ``functions``: ``examples/greeter/functions.py:functions``.
    """
    location, attribute = split_target(target)
    module = _import(location)
    registry = getattr(module, attribute, None)
    if not isinstance(registry, StatefulFunctions):
        found = "nothing" if registry is None else type(registry).__name__
        raise ConfigurationError(
            f"{target!r}: expected a StatefulFunctions registry named {attribute!r} in {location!r}, found {found}; "
            f"name it as module_or_file:attribute"
        )
    return registry


def split_target(target: str) -> tuple[str, str]:
    """``module_or_file[:attr]`` as (module or file, attribute), the attribute defaulting to ``functions``."""
    location, _, attribute = target.partition(":")
    return location, attribute or DEFAULT_ATTRIBUTE


def _import(location: str) -> object:
    path = Path(location)
    if path.is_dir():
        raise ConfigurationError(f"{location!r} is a folder; name the Python file in it, e.g. {location}/functions.py")
    if location.endswith(".py") or path.is_file() or "/" in location or "\\" in location:
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
        try:
            spec.loader.exec_module(module)
        except Exception as error:
            raise UserCodeError(location, error) from error
        return module
    if os.getcwd() not in sys.path:  # as uvicorn and functions-framework do: `serve main:functions` from its folder
        sys.path.insert(0, os.getcwd())
    try:
        return importlib.import_module(location)
    except ModuleNotFoundError as error:
        if error.name is not None and (location == error.name or location.startswith(f"{error.name}.")):
            raise ConfigurationError(f"can not import module {location!r}: {error}") from None
        raise UserCodeError(location, error) from error
    except Exception as error:
        raise UserCodeError(location, error) from error
