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
    STACK_URL_OUTPUT,
    TERRAFORM_URL_OUTPUT,
    Deployed,
    from_stack,
    from_terraform,
)
from statefun_faas.deploy.urls import Credentials
from statefun_faas.errors import StatefunFaasError
from statefun_faas.runtime.module import ASYNC_TRANSPORT, OKHTTP_TRANSPORT, parse_duration

TRANSPORTS = {"async": ASYNC_TRANSPORT, "okhttp": OKHTTP_TRANSPORT}


def parser() -> argparse.ArgumentParser:
    cli = argparse.ArgumentParser(prog="statefun-faas module", description=__doc__.split("\n\n")[0])
    cli.add_argument("source", choices=["url", "stack", "terraform"], help="where the function's URL comes from")
    cli.add_argument(
        "location",
        metavar="URL|STACK|FILE",
        help="the https URL, the stack name, or a `terraform output -json` file (- = stdin)",
    )
    cli.add_argument("--region", help="AWS region of the stack (default: the AWS configuration)")
    cli.add_argument("--endpoint-url", help="CloudFormation API endpoint (for tests against a local mock)")
    cli.add_argument("--output-key", default=STACK_URL_OUTPUT, help="stack output with the URL (default: %(default)s)")
    cli.add_argument("--output-name", default=TERRAFORM_URL_OUTPUT, help="terraform output (default: %(default)s)")
    cli.add_argument("--functions", action="append", default=[], metavar="NS/NAME|NS/*", help="repeatable")
    cli.add_argument("--target", help="module_or_file[:attr]: take the function types from this registry")
    cli.add_argument("--per-function", action="store_true", help="with --target: one endpoint per function type")
    _add_auth(cli)
    _add_endpoint(cli)
    cli.add_argument("--base", help="an existing module.yaml whose ingresses and egresses are kept")
    cli.add_argument("--format", choices=["yaml", "configmap"], default="yaml")
    cli.add_argument("--configmap-name", default="statefun-module", help="with --format configmap")
    cli.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")
    return cli


def _add_auth(cli: argparse.ArgumentParser) -> None:
    cli.add_argument("--token", help="the URL token (default: terraform output statefun_token)")
    cli.add_argument("--token-env", metavar="VAR", help="read the token from this environment variable")
    cli.add_argument("--token-in", choices=["query", "path"], default="query", help="?token= or /t/<token>/")
    cli.add_argument("--code", help="Azure function key, sent as ?code= (default: terraform output function_key)")
    cli.add_argument("--no-token", action="store_true", help="write URLs without any credential")
    cli.add_argument("--allow-http", action="store_true", help="accept a plain http URL (local tests only)")


def _add_endpoint(cli: argparse.ArgumentParser) -> None:
    cli.add_argument("--transport", choices=sorted(TRANSPORTS), default="async")
    cli.add_argument("--max-batch", type=int, default=1000, help="maxNumBatchRequests (default: %(default)s)")
    cli.add_argument("--call-timeout", help="the endpoint's call budget, e.g. 2min (default: the transport's)")
    cli.add_argument(
        "--no-function-path",
        action="store_true",
        help="call the URL itself, without /{function.name} appended (always so with an Azure key)",
    )


def main(options: argparse.Namespace) -> int:
    rest = list(getattr(options, "rest", []))
    args = parser().parse_args(rest[1:] if rest[:1] == ["--"] else rest)
    try:
        _write(generate(args), args.output)
    except StatefunFaasError as error:
        print(f"statefun-faas module: {error}", file=sys.stderr)
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
    _progress(f"wrote {output}")


def generate(args: argparse.Namespace) -> str:
    """The text to write, checked with the runtime's parser."""
    deployed = _deployed(args)
    credentials = _credentials(args, deployed)
    settings = EndpointSettings(
        transport=TRANSPORTS[args.transport],
        max_num_batch_requests=args.max_batch,
        call_timeout=None if args.call_timeout is None else parse_duration(args.call_timeout, "--call-timeout"),
        function_path=not args.no_function_path and credentials.azure_code is None,
    )
    if credentials.azure_code is not None:
        _progress("Azure: the adapter's route is one fixed path, so /{function.name} is not appended")
    endpoints = build_endpoints(deployed.url, _patterns(args), credentials, settings, args.allow_http)
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


def _patterns(args: argparse.Namespace) -> list[str]:
    patterns = [check_pattern(pattern) for pattern in args.functions]
    if args.target:
        from statefun_faas.target import load_functions

        patterns += patterns_of(load_functions(args.target).typenames, args.per_function)
    elif args.per_function:
        raise DeployError("--per-function needs --target (the registry whose function types are listed)")
    if not patterns:
        raise DeployError("no functions: pass --functions NS/* (repeatable) or --target module:functions")
    return list(dict.fromkeys(patterns))


def _progress(line: str) -> None:
    print(f"statefun-faas module: {line}", file=sys.stderr)
