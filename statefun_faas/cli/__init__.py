"""The ``statefun-faas`` command line.

Each subcommand's work lives in its own module, imported only when that subcommand runs,
so ``statefun-faas --help`` stays fast and a core-only install never loads runtime
dependencies.
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Callable, Sequence

from statefun_faas.cli import parsers

# subcommand -> "module:function"; the function takes the parsed argparse.Namespace and
# returns the process exit code.
COMMANDS = {
    "run": "statefun_faas.cli.runtime:run",
    "dev": "statefun_faas.cli.runtime:dev",
    "send": "statefun_faas.cli.runtime:send",
    "state": "statefun_faas.cli.runtime:state",
    "dead-letters": "statefun_faas.cli.runtime:dead_letters",
    "serve": "statefun_faas.cli.serve:main",
    "module": "statefun_faas.cli.deploy:module",
    "package": "statefun_faas.cli.deploy:package",
}


def _load(command: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, function = COMMANDS[command].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        if error.name is not None and error.name.startswith("statefun_faas"):
            raise SystemExit(f"statefun-faas {command}: not available in this version") from None
        raise SystemExit(
            f"statefun-faas {command} needs {error.name!r}: pip install 'statefun-faas[runtime]'"
        ) from None
    entry: Callable[[argparse.Namespace], int] = getattr(module, function)
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options = parsers.parser().parse_args(args)
    return _load(options.command)(options)
