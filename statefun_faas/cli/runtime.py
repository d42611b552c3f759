"""The runtime's subcommands: ``run``, ``dev``, ``send``, ``state``, ``dead-letters`` (see statefun_faas.cli)."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import functools
import logging
import signal
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Callable, Coroutine
from datetime import datetime
from pathlib import Path
from typing import Any

from statefun_faas.cli.values import decode, describe, encode
from statefun_faas.errors import ConfigurationError
from statefun_faas.functions import StatefulFunctions
from statefun_faas.moduleyaml.reader import ModuleError
from statefun_faas.runtime.app import Options, Runtime
from statefun_faas.runtime.defaults import LOCAL_IO_PORT
from statefun_faas.runtime.http.server import HttpLimits
from statefun_faas.runtime.io.playground import WARNING_HEADER
from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store.database import DB_NAME, StateFileError, Store
from statefun_faas.runtime.store.folderlock import StateFolderBusyError
from statefun_faas.types import split_typename


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="statefun-faas: %(message)s", stream=sys.stderr)
    logging.getLogger("aiohttp").setLevel(logging.WARNING)


LIMITS = ("header_timeout", "idle_timeout", "max_connections")  # flags of run and dev, see cli.py


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
        print(_unusable(args.state, error), file=sys.stderr)
        return 1
    except (ModuleError, ConfigurationError, OSError, ValueError, StateFolderBusyError) as error:
        if getattr(args, "debug", False):
            raise
        print(f"{getattr(error, 'user_traceback', '')}statefun-faas: {error}", file=sys.stderr)
        return 2
    return 0


def _unusable(state_dir: str, error: sqlite3.Error | StateFileError) -> str:
    """One line naming the state file, what is wrong with it and what to do."""
    if isinstance(error, sqlite3.Error):
        error = StateFileError.of(Path(state_dir) / DB_NAME, error)
    return f"statefun-faas: {error}"


def run(args: argparse.Namespace) -> int:
    """``statefun-faas run --module module.yaml``: the application's functions over HTTP."""
    _logging()

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
    _logging()
    from statefun_faas.cli.target import load_functions

    def build() -> Runtime:
        functions: StatefulFunctions = load_functions(args.target)
        ports = None if args.module else (args.ingress_port, args.egress_port)
        return Runtime([args.module] if args.module else [], functions, _options(args, playground_ports=ports))

    return _start(args, build)


def send(args: argparse.Namespace) -> int:
    """``statefun-faas send NAMESPACE/TYPE/ID VALUE``: through the running app's ingress port."""
    try:
        address = Address.parse(args.address)
        typename = args.typename or "io.statefun.types/string"
        try:
            split_typename(typename, "--type")
        except ConfigurationError:
            raise ValueError(
                f"--type {typename!r} is no typename; write NAMESPACE/NAME, e.g. io.statefun.types/int"
            ) from None
        body = encode(typename, args.value)
    except ValueError as error:
        print(f"statefun-faas send: {error}", file=sys.stderr)
        return 2
    url = f"{args.ingress.rstrip('/')}/{address}"
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", f"application/vnd.{typename}")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            response.read()
            warning = response.headers.get(WARNING_HEADER)
    except urllib.error.HTTPError as error:
        print(
            f"statefun-faas send: {url} answered {error.code}: {error.read().decode(errors='replace')}", file=sys.stderr
        )
        return 1
    except urllib.error.URLError as error:
        print(f"statefun-faas send: can not reach {url} ({error.reason}); is the runtime running?", file=sys.stderr)
        return 1
    if warning:
        print(
            f"statefun-faas send: the message to {address} is stored, but {warning}; add an endpoint for "
            f"{address.typename} to module.yaml (dev: or a function to its registry), or fix the address",
            file=sys.stderr,
        )
        return 1
    print(f"sent {typename} to {address}")
    return 0


def _open_store(state_dir: str, owner: bool = False) -> Store | None:
    """Read-only (works beside a running runtime), or as the folder's owner (``owner``, to write)."""
    if not (Path(state_dir) / DB_NAME).is_file():
        print(f"statefun-faas: no state in {state_dir!r} (pass --state DIR of a runtime that ran)", file=sys.stderr)
        return None
    return Store.in_directory(state_dir) if owner else Store.read_only(state_dir)


def _store_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """``state`` and ``dead-letters``: an unusable state file is one line naming it, exit code 1."""

    @functools.wraps(command)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (sqlite3.Error, StateFileError) as error:
            if getattr(args, "debug", False):
                raise
            print(_unusable(args.state_dir, error), file=sys.stderr)
            return 1

    return guarded


@_store_errors
def state(args: argparse.Namespace) -> int:
    """``statefun-faas state NAMESPACE/TYPE/ID``: the stored values of one address, primitives decoded."""
    try:
        address = Address.parse(args.address)
    except ValueError as error:
        print(f"statefun-faas state: {error}", file=sys.stderr)
        return 2
    store = _open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        specs = store.specs(address.typename)
        values = store.state(address, datetime.now().timestamp())
    if not specs:
        print(f"no states are registered for {address.typename}")
        return 0
    for name, spec in specs.items():
        value = values.get(name)
        shown = "(no value)" if value is None or value.data is None else decode(spec.typename, value.data)
        print(f"{name} ({describe(spec)}): {shown}")
    return 0


@_store_errors
def dead_letters(args: argparse.Namespace) -> int:
    """``statefun-faas dead-letters [--replay [ID ...]]``: list, or move back into the inboxes."""
    if args.replay is not None:
        return _replay(args.state_dir, args.replay)
    store = _open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        letters = store.dead_letters()
    for letter in letters:
        envelope = letter.envelope
        when = datetime.fromtimestamp(letter.at).isoformat(timespec="seconds")
        caller = str(envelope.caller) if envelope.caller else "ingress"
        argument = decode(envelope.argument.typename, envelope.argument.data or b"")
        print(f"{letter.seq}\t{when}\t{envelope.target}\tfrom {caller}\t{envelope.argument.typename} {argument}")
        print(f"\treason: {letter.reason}")
    print(f"{len(letters)} dead letter(s)" + ("; replay with --replay [ID ...]" if letters else ""))
    return 0


def _replay(state_dir: str, ids: list[str]) -> int:
    """Replaying writes, so it takes the folder's lock: never behind a running runtime's back."""
    try:
        seqs = [int(seq) for seq in ids] if ids else None
    except ValueError as error:
        print(f"statefun-faas dead-letters: --replay takes dead letter ids (numbers): {error}", file=sys.stderr)
        return 2
    try:
        store = _open_store(state_dir, owner=True)
    except StateFolderBusyError as error:
        holder = "a runtime" if error.pid is None else f"the runtime with PID {error.pid}"
        print(
            f"statefun-faas dead-letters: can not replay: {error.folder} is in use by {holder}. Stop it, replay, "
            "then start it again (it delivers the replayed messages at start); listing works while it runs.",
            file=sys.stderr,
        )
        return 1
    if store is None:
        return 1
    with contextlib.closing(store):
        unknown = sorted(set(seqs or ()) - {letter.seq for letter in store.dead_letters()})
        if unknown:
            print(
                f"statefun-faas dead-letters: no dead letter with id {', '.join(map(str, unknown))}; nothing replayed. "
                "List them with statefun-faas dead-letters",
                file=sys.stderr,
            )
            return 2
        targets = store.replay(seqs)
    print(f"replayed dead letters to {len(targets)} address(es); the runtime delivers them when it starts")
    return 0
