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
from typing import NoReturn

from statefun_faas.cli import parsers

# subcommand -> "module:function"; the function takes the parsed argparse.Namespace and
# returns the process exit code.
COMMANDS = {
    "run": "statefun_faas.cli.runtime:run",
    "dev": "statefun_faas.cli.runtime:dev",
    "send": "statefun_faas.cli.client:send",
    "state": "statefun_faas.cli.client:state",
    "dead-letters": "statefun_faas.cli.client:dead_letters",
    "addresses": "statefun_faas.cli.views:addresses",
    "inbox": "statefun_faas.cli.views:inbox",
    "delayed": "statefun_faas.cli.views:delayed",
    "trace": "statefun_faas.cli.views:trace",
    "serve": "statefun_faas.cli.serve:main",
    "module": "statefun_faas.cli.deploy:module",
    "package": "statefun_faas.cli.deploy:package",
}


def missing_extra(command: str, error: ModuleNotFoundError) -> NoReturn:
    """Ends a command whose library is missing with one line and exit code 2. Each library a command imports
    (PyYAML, httptools, aiokafka) comes with ``[runtime]``; boto3 and uvicorn are looked for where they are
    used, with errors naming their own extras (``[boto3]``, ``[asgi]``)."""
    if error.name is not None and error.name.startswith("statefun_faas"):
        print(f"statefun-faas {command}: not available in this version", file=sys.stderr)
    else:
        print(f"statefun-faas {command} needs {error.name!r}: pip install 'statefun-faas[runtime]'", file=sys.stderr)
    raise SystemExit(2)


def _load(command: str) -> Callable[[argparse.Namespace], int]:
    module_name, _, function = COMMANDS[command].partition(":")
    try:
        module = importlib.import_module(module_name)
    except ModuleNotFoundError as error:
        missing_extra(command, error)
    entry: Callable[[argparse.Namespace], int] = getattr(module, function)
    return entry


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    options = parsers.parser().parse_args(args)
    return _load(options.command)(options)
