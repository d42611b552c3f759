"""``statefun-faas module``: module.yaml endpoints for a deployed function.

Where the URL comes from, the first two arguments: ``url URL``, ``stack NAME`` (the outputs
of a CloudFormation/SAM stack, read with boto3) or ``terraform FILE`` (the JSON of
``terraform output -json``, saved to a file, or ``-`` for stdin).
Which functions it serves: ``--functions`` patterns and/or the registry of ``--target``,
one endpoint per namespace (``{function.name}`` in the URL) or, with ``--per-function``,
one per function type. The token (or Azure's ``code``) is appended to the URL. The text
written is parsed back with the local runtime's module.yaml parser before it is written.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Iterable
from pathlib import Path

from statefun_faas.deploy import DeployError
from statefun_faas.deploy.module_writer import (
    EndpointSettings,
    build_endpoints,
    check_pattern,
    configmap,
    module_text,
    other_documents,
    patterns_of,
    verify,
)
from statefun_faas.deploy.outputs import (
    Deployed,
    from_stack,
    from_terraform,
)
from statefun_faas.deploy.urls import Credentials
from statefun_faas.moduleyaml.model import ASYNC_TRANSPORT, OKHTTP_TRANSPORT
from statefun_faas.moduleyaml.reader import parse_duration

TRANSPORTS = {"async": ASYNC_TRANSPORT, "okhttp": OKHTTP_TRANSPORT}


def generate(args: argparse.Namespace, typenames: Iterable[str] | None = None) -> str:
    """The text to write, checked with the module.yaml parser.

    ``args`` holds the options of ``statefun-faas module`` (see statefun_faas.cli.deploy); ``typenames``, the
    function types of the ``--target`` registry, if one was given.
    """
    deployed = _deployed(args)
    credentials = _credentials(args, deployed)
    settings = EndpointSettings(
        transport=TRANSPORTS[args.transport],
        max_num_batch_requests=args.max_batch,
        call_timeout=None if args.call_timeout is None else parse_duration(args.call_timeout, "--call-timeout"),
        function_path=not args.no_function_path and credentials.azure_code is None,
        failure_mode=args.failure_mode,
    )
    if credentials.azure_code is not None:
        _progress("Azure: the adapter's route is one fixed path, so /{function.name} is not appended")
    endpoints = build_endpoints(deployed.url, _patterns(args, typenames), credentials, settings, args.allow_http)
    others = other_documents(_read(args.base), args.base) if args.base else []
    text = module_text(endpoints, others)
    verify(text, endpoints, args.output if args.output != "-" else "module.yaml")
    _progress(f"{len(endpoints)} endpoint(s) for {deployed.url}, checked with the runtime's module.yaml parser")
    return configmap(text, args.configmap_name) if args.format == "configmap" else text


def _deployed(args: argparse.Namespace) -> Deployed:
    if args.source == "url":
        return Deployed(args.location)
    if args.source == "stack":
        _progress(f"reading the outputs of CloudFormation stack {args.location!r}")
        return from_stack(args.location, output_key=args.output_key, region=args.region, endpoint_url=args.endpoint_url)
    source = "stdin" if args.location == "-" else args.location
    _progress(f"reading terraform outputs from {source}")
    text = sys.stdin.read() if args.location == "-" else _read(args.location)
    return from_terraform(text, url_output=args.output_name, source=source)


def _read(path: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as error:
        raise DeployError(f"can not read {path!r}: {getattr(error, 'strerror', None) or error}") from None


def _credentials(args: argparse.Namespace, deployed: Deployed) -> Credentials:
    token = args.token
    if args.token_env:
        token = os.environ.get(args.token_env)
        if not token:
            raise DeployError(f"environment variable {args.token_env} is not set or empty")
    token = token or deployed.token
    code = args.code or deployed.azure_code
    if args.no_token:
        return Credentials()
    if token is None and code is None:
        raise DeployError(
            "no credential for the URL: pass --token or --token-env (the value of STATEFUN_FAAS_TOKENS), "
            "--code for an Azure function key, or --no-token for functions that run without one"
        )
    return Credentials(token=token, token_style=args.token_in, azure_code=code)


def _patterns(args: argparse.Namespace, typenames: Iterable[str] | None) -> list[str]:
    patterns = [check_pattern(pattern) for pattern in args.functions]
    if typenames is not None:
        patterns += patterns_of(typenames, args.per_function)
    elif args.per_function:
        raise DeployError("--per-function needs --target (the registry whose function types are listed)")
    if not patterns:
        raise DeployError("no functions: pass --functions NS/* (repeatable) or --target module:functions")
    return list(dict.fromkeys(patterns))


def _progress(line: str) -> None:
    print(f"statefun-faas module: {line}", file=sys.stderr)
