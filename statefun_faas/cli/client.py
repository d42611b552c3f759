"""The commands beside a runtime: ``send`` (through its ingress), ``state`` and ``dead-letters`` (its state folder;
``addresses``, ``inbox``, ``delayed`` and ``trace`` are in statefun_faas.cli.views).

Standard library and the core only, so they work with the base install, without the ``[runtime]`` extra.
"""

from __future__ import annotations

import argparse
import contextlib
import functools
import sqlite3
import sys
import urllib.error
import urllib.request
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from statefun_faas.cli.values import decode, describe, encode
from statefun_faas.errors import ConfigurationError
from statefun_faas.runtime.defaults import WARNING_HEADER
from statefun_faas.runtime.records import Address
from statefun_faas.runtime.store import views
from statefun_faas.runtime.store.database import DB_NAME, StateFileError, Store
from statefun_faas.runtime.store.folderlock import StateFolderBusyError
from statefun_faas.types import split_typename


def unusable_state(state_dir: str, error: sqlite3.Error | StateFileError) -> str:
    """One line naming the state file, what is wrong with it and what to do."""
    if isinstance(error, sqlite3.Error):
        error = StateFileError.of(Path(state_dir) / DB_NAME, error)
    return f"statefun-faas: {error}"


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


def open_store(state_dir: str, owner: bool = False) -> Store | None:
    """Read-only (works beside a running runtime), or as the folder's owner (``owner``, to write)."""
    if not (Path(state_dir) / DB_NAME).is_file():
        print(f"statefun-faas: no state in {state_dir!r} (pass --state DIR of a runtime that ran)", file=sys.stderr)
        return None
    return Store.in_directory(state_dir) if owner else Store.read_only(state_dir)


def store_errors(command: Callable[[argparse.Namespace], int]) -> Callable[[argparse.Namespace], int]:
    """The commands that read a state folder: an unusable state file is one line naming it, exit code 1."""

    @functools.wraps(command)
    def guarded(args: argparse.Namespace) -> int:
        try:
            return command(args)
        except (sqlite3.Error, StateFileError) as error:
            if getattr(args, "debug", False):
                raise
            print(unusable_state(args.state_dir, error), file=sys.stderr)
            return 1

    return guarded


@store_errors
def state(args: argparse.Namespace) -> int:
    """``statefun-faas state NAMESPACE/TYPE/ID``: the stored values of one address, primitives decoded."""
    try:
        address = Address.parse(args.address)
    except ValueError as error:
        print(f"statefun-faas state: {error}", file=sys.stderr)
        return 2
    store = open_store(args.state_dir)
    if store is None:
        return 1
    with contextlib.closing(store):
        states = views.states(store, address)
    if not states:
        print(f"no states are registered for {address.typename}")
        return 0
    for state in states:
        spec, value = state.spec, state.value
        shown = "(no value)" if value is None or value.data is None else decode(spec.typename, value.data)
        print(f"{spec.name} ({describe(spec)}): {shown}")
    return 0


@store_errors
def dead_letters(args: argparse.Namespace) -> int:
    """``statefun-faas dead-letters [--replay [ID ...]]``: list, or move back into the inboxes."""
    if args.replay is not None:
        return _replay(args.state_dir, args.replay)
    store = open_store(args.state_dir)
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
        store = open_store(state_dir, owner=True)
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
