"""The runtime's subcommands: ``run`` and ``dev`` (see statefun_faas.cli; ``send``, ``state`` and ``dead-letters``
are in statefun_faas.cli.client)."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import signal
import sqlite3
import sys
from collections.abc import Callable, Coroutine
from pathlib import Path
from typing import Any

from statefun_faas.cli import logs
from statefun_faas.cli.client import unusable_state
from statefun_faas.errors import ConfigurationError
from statefun_faas.functions import StatefulFunctions
from statefun_faas.moduleyaml.reader import ModuleError
from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.console import ConsoleOptions
from statefun_faas.runtime.defaults import LOCAL_IO_PORT
from statefun_faas.runtime.http.server import HttpLimits
from statefun_faas.runtime.store.database import StateFileError
from statefun_faas.runtime.store.folderlock import StateFolderBusyError


def _logging(args: argparse.Namespace) -> None:
    logs.configure(args.log_format, args.log_level)


LIMITS = ("header_timeout", "idle_timeout", "max_connections")  # flags of run and dev, see cli.py


def _console(args: argparse.Namespace) -> ConsoleOptions | None:
    """The console's options; its tokens are the adapters' (STATEFUN_FAAS_TOKENS, read as the edge reads them)."""
    if args.no_console:
        return None
    from statefun_faas.adapters.edge import TOKENS_ENV, parse_tokens

    tokens = parse_tokens(os.environ.get(TOKENS_ENV))
    return ConsoleOptions(args.console_host, args.console_port, tokens, args.proto_descriptors)


def _options(args: argparse.Namespace, playground_ports: tuple[int, int] | None = None) -> Options:
    return Options(
        state_dir=args.state,
        host=args.host,
        synchronous=getattr(args, "synchronous", "NORMAL"),
        local_io_port=getattr(args, "local_io_port", LOCAL_IO_PORT),
        egress_overrides=args.egress,
        local_io=getattr(args, "local_io", True),  # dev: Kinesis kinds on local topics too
        playground_ports=playground_ports,
        http=HttpLimits(**{name: getattr(args, name) for name in LIMITS if getattr(args, name, None) is not None}),
        history=args.history,
        console=_console(args),
    )


async def _serve(runtime: Runtime) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    await runtime.start()
    logging.getLogger("statefun_faas.runtime").info("running; Ctrl-C stops")
    await stop.wait()
    await runtime.stop()


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run on uvloop when the ``fast`` extra installed it (a quarter less CPU per message), else on asyncio."""
    try:
        import uvloop
    except ImportError:
        asyncio.run(main)
    else:
        uvloop.run(main)


#: how far run and dev lift the soft open-files limit at start (never past the hard limit)
OPEN_FILES_WANTED = 65536


def _lift_open_files_limit() -> None:
    """Raise the soft open-files limit towards the hard one, as Go programs do at start: a soft limit of
    1,024 (a common default) is below what the ports' connection caps and the function client's pool can
    hold together."""
    try:
        import resource
    except ImportError:  # Windows
        return
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    wanted = OPEN_FILES_WANTED if hard == resource.RLIM_INFINITY else min(hard, OPEN_FILES_WANTED)
    if soft != resource.RLIM_INFINITY and soft < wanted:
        resource.setrlimit(resource.RLIMIT_NOFILE, (wanted, hard))


def _start(args: argparse.Namespace, build: Callable[[], Runtime]) -> int:
    _lift_open_files_limit()
    try:
        if Path(args.state).exists() and not Path(args.state).is_dir():
            raise ConfigurationError(f"--state {args.state!r} is a file; give a folder (created if missing)")
        _run(_serve(build()))
    except (sqlite3.Error, StateFileError) as error:
        if getattr(args, "debug", False):
            raise
        print(unusable_state(args.state, error), file=sys.stderr)
        return 1
    except (ModuleError, ConfigurationError, OSError, ValueError, StateFolderBusyError) as error:
        if getattr(args, "debug", False):
            raise
        print(f"{getattr(error, 'user_traceback', '')}statefun-faas: {error}", file=sys.stderr)
        return 2
    return 0


def run(args: argparse.Namespace) -> int:
    """``statefun-faas run --module module.yaml``: the application's functions over HTTP."""
    _logging(args)

    def build() -> Runtime:
        runtime = Runtime([args.module], None, _options(args))
        if not runtime.module.endpoints:
            logging.getLogger("statefun_faas.runtime").warning(
                "%s declares no function endpoint, so every message becomes a dead letter; "
                "add a kind: io.statefun.endpoints.v2/http document, or run a registry with dev TARGET",
                args.module,
            )
        return runtime

    return _start(args, build)


def dev(args: argparse.Namespace) -> int:
    """``statefun-faas dev TARGET``: a registry in-process, playground ingress/egress (or --module's I/O)."""
    _logging(args)
    from statefun_faas.cli.target import load_functions

    def build() -> Runtime:
        functions: StatefulFunctions = load_functions(args.target)
        ports = None if args.module else (args.ingress_port, args.egress_port)
        return Runtime([args.module] if args.module else [], functions, _options(args, playground_ports=ports))

    return _start(args, build)
