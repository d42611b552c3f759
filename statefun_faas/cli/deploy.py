"""``statefun-faas module`` and ``statefun-faas package``: the commands (their options: statefun_faas.cli.parsers).

The work itself is statefun_faas.deploy's: :func:`statefun_faas.deploy.module_yaml.generate` writes
module.yaml endpoints from a deployment's outputs, :func:`statefun_faas.deploy.package.build` the
deployment packages (the Lambda zip, the Cloud Functions and Azure sources, the container folder).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from statefun_faas.cli import missing_extra
from statefun_faas.cli.target import load_functions, split_target
from statefun_faas.deploy import DeployError
from statefun_faas.errors import StatefunFaasError


def module(args: argparse.Namespace) -> int:
    try:  # here, not at the top: package needs no PyYAML
        from statefun_faas.deploy.module_yaml import generate
    except ModuleNotFoundError as error:
        missing_extra("module", error)

    try:
        typenames = load_functions(args.target).typenames if args.target else None
        _write(generate(args, typenames), args.output)
    except StatefunFaasError as error:
        print(f"statefun-faas module: {error}", file=sys.stderr)
        return 2
    return 0


def package(args: argparse.Namespace) -> int:
    from statefun_faas.deploy.package import build

    try:
        load_functions(args.target)  # fails early, naming the problem, if there is no registry there
        location, attribute = split_target(args.target)
        build(args, location, attribute)
    except StatefunFaasError as error:
        print(f"statefun-faas package: {error}", file=sys.stderr)
        return 2
    return 0


def _write(text: str, output: str) -> None:
    if output == "-":
        sys.stdout.write(text)
        return
    try:
        Path(output).write_text(text, encoding="utf-8")
    except OSError as error:
        raise DeployError(f"can not write {output!r}: {error.strerror or error}") from None
    print(f"statefun-faas module: wrote {output}", file=sys.stderr)
