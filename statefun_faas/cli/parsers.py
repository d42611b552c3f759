"""The argument parsers of every subcommand, apart from the commands so that ``--help`` imports nothing heavy.

Each subcommand's options land in one ``argparse.Namespace``, which statefun_faas.cli hands to the
function named in its ``COMMANDS``.
"""

from __future__ import annotations

import argparse
import importlib.metadata

from statefun_faas.cli.logs import FORMATS as LOG_FORMATS
from statefun_faas.cli.logs import LEVELS as LOG_LEVELS
from statefun_faas.deploy.lambda_platform import ARCHES, GLIBC
from statefun_faas.deploy.outputs import STACK_URL_OUTPUT, TERRAFORM_URL_OUTPUT
from statefun_faas.deploy.platforms import PLATFORMS
from statefun_faas.moduleyaml.model import DROP_MODE, FAIL_MODE, PLAYGROUND_EGRESS_PORT, PLAYGROUND_INGRESS_PORT
from statefun_faas.runtime.defaults import CONSOLE_PORT, HISTORY, HOST, LOCAL_IO_PORT, STATE_DIR

DESCRIPTION = (
    "Apache Flink StateFun remote functions: run an application on the local runtime, serve functions over HTTP, "
    "package them for a FaaS platform and write module.yaml for the deployed URLs."
)
EGRESS_HELP = "also write this egress's records to stdout or a JSON-lines file; repeatable"
#: serve's port when neither --port nor $PORT gives one
SERVE_PORT = 8000


def _version() -> str:
    """The installed distribution's version (the one pip shows)."""
    try:
        return importlib.metadata.version("statefun-faas")
    except importlib.metadata.PackageNotFoundError:
        return "(not installed)"


def port(text: str) -> int:
    """A TCP port number for argparse: 0 (any free port) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is no port number; give 0 to 65535 (0 picks a free one)")
    return int(text)


def count(text: str) -> int:
    """A number of things to keep for argparse: 0 or more."""
    if not text.isdigit():
        raise argparse.ArgumentTypeError(f"{text!r} is no count; give 0 or a whole number above it")
    return int(text)


def _add_history(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--history",
        type=count,
        default=HISTORY,
        metavar="N",
        help="keep the last N invocations in the state folder for statefun-faas trace and the console; "
        "0 keeps none (default: %(default)s)",
    )


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run a StateFun application from module.yaml on the local runtime")
    run.add_argument("--module", required=True, help="the module.yaml file")
    run.add_argument("--state", default=STATE_DIR, help="state directory (default: %(default)s)")
    run.add_argument("--host", default=HOST, help="address the ingress/egress ports bind")
    run.add_argument("--local-io", action="store_true", help="bind Kafka/Kinesis ingress/egress to local topics")
    run.add_argument("--egress", action="append", default=[], metavar="ID=stdout|jsonl:PATH", help=EGRESS_HELP)
    run.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL", help="SQLite durability")
    run.add_argument("--local-io-port", type=port, default=LOCAL_IO_PORT, help="port of local Kafka/Kinesis topics")
    _add_history(run)
    _add_port_limits(run)
    _add_logging(run)
    _add_console(run)

    dev = sub.add_parser("dev", help="run a StatefulFunctions registry in-process with playground I/O")
    dev.add_argument("target", help="module_or_file[:attr], attr defaults to 'functions'")
    playground = f"playground on {PLAYGROUND_INGRESS_PORT}/{PLAYGROUND_EGRESS_PORT}"
    dev.add_argument("--module", help=f"module.yaml for ingress/egress (default: {playground})")
    dev.add_argument("--state", default=STATE_DIR, help="state directory (default: %(default)s)")
    dev.add_argument("--host", default=HOST, help="address the ingress/egress ports bind")
    dev.add_argument("--egress", action="append", default=[], metavar="ID=stdout|jsonl:PATH", help=EGRESS_HELP)
    dev.add_argument(
        "--ingress-port", type=port, default=PLAYGROUND_INGRESS_PORT, help="playground ingress port (no --module)"
    )
    dev.add_argument(
        "--egress-port", type=port, default=PLAYGROUND_EGRESS_PORT, help="playground egress port (no --module)"
    )
    dev.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL", help="SQLite durability")
    _add_history(dev)
    _add_port_limits(dev)
    _add_logging(dev)
    _add_console(dev)

    send = sub.add_parser("send", help="send a message through the running app's ingress")
    send.add_argument("address", metavar="NAMESPACE/TYPE/ID", help="the function type and id to send to")
    send.add_argument("value", help="the message body (text or JSON)")
    send.add_argument("--type", dest="typename", help="the value's typename (default io.statefun.types/string)")
    send.add_argument("--ingress", default=f"http://{HOST}:{PLAYGROUND_INGRESS_PORT}", help="the ingress URL")

    state = sub.add_parser("state", help="print the stored state of one address")
    state.add_argument("address", metavar="NAMESPACE/TYPE/ID", help="the function type and id whose state to print")
    state.add_argument("--state", dest="state_dir", default=STATE_DIR, help="state directory (default: %(default)s)")

    dead = sub.add_parser("dead-letters", help="list or replay dead-lettered messages")
    dead.add_argument("--state", dest="state_dir", default=STATE_DIR, help="state directory (default: %(default)s)")
    dead.add_argument("--replay", nargs="*", metavar="ID", help="replay these ids (none given: all)")


def positive(text: str) -> int:
    """A count of 1 or more for argparse."""
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is no number of 1 or more")
    return int(text)


def _add_views(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """The commands that read a state folder beside a running runtime (statefun_faas.cli.views)."""
    state_help = "state directory (default: %(default)s)"
    addresses = sub.add_parser("addresses", help="list the addresses with state, waiting or delayed messages")
    addresses.add_argument(
        "--type",
        dest="typename",
        metavar="TYPE",
        help="only this function type, or types starting with what comes before a final * (e.g. 'example/*')",
    )
    addresses.add_argument("--id-prefix", metavar="PREFIX", help="only ids starting with PREFIX")
    addresses.add_argument("--after", metavar="NAMESPACE/TYPE/ID", help="the page after this address")
    addresses.add_argument(
        "--limit", type=positive, default=50, metavar="N", help="addresses per page (default: %(default)s)"
    )
    addresses.add_argument("--state", dest="state_dir", default=STATE_DIR, help=state_help)

    inbox = sub.add_parser("inbox", help="list the messages waiting for one address")
    inbox.add_argument("address", metavar="NAMESPACE/TYPE/ID", help="the function type and id whose inbox to list")
    inbox.add_argument("--after", type=int, default=0, metavar="SEQ", help="the page after this message seq")
    inbox.add_argument(
        "--limit", type=positive, default=100, metavar="N", help="messages per page (default: %(default)s)"
    )
    inbox.add_argument("--state", dest="state_dir", default=STATE_DIR, help=state_help)

    delayed = sub.add_parser("delayed", help="list the delayed messages not fired yet")
    delayed.add_argument(
        "address", nargs="?", metavar="NAMESPACE/TYPE/ID", help="only those to this address (default: all)"
    )
    delayed.add_argument(
        "--limit", type=positive, default=100, metavar="N", help="messages shown (default: %(default)s)"
    )
    delayed.add_argument("--state", dest="state_dir", default=STATE_DIR, help=state_help)

    trace = sub.add_parser("trace", help="show the last invocations of an address, or what happened to one message")
    trace.add_argument("address", metavar="NAMESPACE/TYPE/ID", help="the function type and id to trace")
    trace.add_argument(
        "--seq", type=int, metavar="N", help="follow the message with this seq (inbox and trace list the seqs)"
    )
    trace.add_argument(
        "--limit", type=positive, default=10, metavar="N", help="invocations shown (default: %(default)s)"
    )
    trace.add_argument("--state", dest="state_dir", default=STATE_DIR, help=state_help)


def _add_console(parser: argparse.ArgumentParser) -> None:
    """The web console of run and dev (statefun_faas.runtime.console)."""
    console = parser.add_argument_group("the web console (docs/observability.md)")
    console.add_argument(
        "--console-port",
        type=port,
        help=f"its port (default: {CONSOLE_PORT}, or any free one when that is taken; 0 picks a free one)",
    )
    console.add_argument(
        "--console-host",
        default=HOST,
        help="address it binds (default: %(default)s); any but loopback needs STATEFUN_FAAS_TOKENS",
    )
    console.add_argument("--no-console", action="store_true", help="serve no console")
    console.add_argument(
        "--proto-descriptors",
        metavar="FILE",
        help="a FileDescriptorSet (protoc --include_imports --descriptor_set_out=FILE) to show protobuf values",
    )


def _add_logging(parser: argparse.ArgumentParser) -> None:
    """How run and dev log (statefun_faas.cli.logs)."""
    logs = parser.add_argument_group("logs (docs/observability.md)")
    logs.add_argument(
        "--log-format", choices=LOG_FORMATS, default="text", help="text lines, or one JSON object per line"
    )
    logs.add_argument("--log-level", type=str.upper, choices=LOG_LEVELS, default="INFO", help="the least level written")


def _add_port_limits(parser: argparse.ArgumentParser) -> None:
    """Bounds of the runtime's listening ports; unset, the defaults of statefun_faas.runtime.http.server.HttpLimits."""
    limits = parser.add_argument_group("limits of every listening port (defaults in docs/security.md)")
    limits.add_argument("--header-timeout", type=float, metavar="SECONDS", help="time for a request's head")
    limits.add_argument("--idle-timeout", type=float, metavar="SECONDS", help="time a kept connection may idle")
    limits.add_argument("--max-connections", type=int, metavar="N", help="open connections per port")


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve a StatefulFunctions registry over HTTP")
    serve.add_argument("target", help="module_or_file[:attr], attr defaults to 'functions'")
    serve.add_argument("--host", default=HOST, help="address to listen on (default: %(default)s)")
    serve.add_argument(
        "--port", type=port, help=f"port to listen on (default: $PORT, else {SERVE_PORT}; 0 picks a free one)"
    )


TRANSPORTS = ("async", "okhttp")  # the names of statefun_faas.deploy.module_yaml.TRANSPORTS
MODULE_HELP = "write module.yaml endpoints from deployed function URLs"
PACKAGE_HELP = "build a deployment package"


def _add_module(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cli = sub.add_parser(
        "module",
        help=MODULE_HELP,
        description=(
            "module.yaml endpoints for a deployed function. Where the URL comes from: url URL, stack NAME (the "
            "outputs of a CloudFormation/SAM stack) or terraform FILE (what 'terraform output -json' prints, saved "
            "to a file, or - for stdin). Which functions it serves: --functions patterns and/or the registry of "
            "--target. The text written is checked with the local runtime's module.yaml parser first."
        ),
    )
    cli.add_argument("source", choices=["url", "stack", "terraform"], help="where the function's URL comes from")
    cli.add_argument(
        "location",
        metavar="URL|STACK|FILE",
        help="the https URL, the stack name, or a file of 'terraform output -json' (- = stdin)",
    )
    cli.add_argument("--region", help="AWS region of the stack (default: the AWS configuration)")
    cli.add_argument("--endpoint-url", help="CloudFormation API endpoint (for tests against a local mock)")
    cli.add_argument("--output-key", default=STACK_URL_OUTPUT, help="stack output with the URL (default: %(default)s)")
    cli.add_argument("--output-name", default=TERRAFORM_URL_OUTPUT, help="terraform output (default: %(default)s)")
    cli.add_argument(
        "--functions",
        action="append",
        default=[],
        metavar="NS/NAME|NS/*",
        help="a function type, or every type of a namespace (one endpoint, /{function.name} appended); repeatable",
    )
    cli.add_argument("--target", help="module_or_file[:attr]: take the function types from this registry")
    cli.add_argument("--per-function", action="store_true", help="with --target: one endpoint per function type")
    auth = cli.add_argument_group("the URL's credential")
    auth.add_argument(
        "--token", help="the URL token, the value of STATEFUN_FAAS_TOKENS (default: a statefun_token output, if any)"
    )
    auth.add_argument("--token-env", metavar="VAR", help="read the token from this environment variable")
    auth.add_argument("--token-in", choices=["query", "path"], default="query", help="?token= or /t/<token>/")
    auth.add_argument("--code", help="Azure function key, sent as ?code= (default: terraform output function_key)")
    auth.add_argument("--no-token", action="store_true", help="write URLs without any credential")
    auth.add_argument("--allow-http", action="store_true", help="accept a plain http URL (local tests only)")
    endpoint = cli.add_argument_group("the endpoint")
    endpoint.add_argument("--transport", choices=TRANSPORTS, default="async", help="StateFun's HTTP transport")
    endpoint.add_argument("--max-batch", type=int, default=1000, help="maxNumBatchRequests (default: %(default)s)")
    endpoint.add_argument("--call-timeout", help="the endpoint's call budget, e.g. 2min (default: the transport's)")
    endpoint.add_argument(
        "--failure-mode",
        choices=(FAIL_MODE, DROP_MODE),
        help="write the endpoint's failureMode, a key of the com.sbbsystems.flink fork of StateFun (see "
        "docs/troubleshooting.md); Apache StateFun ignores it (default: not written)",
    )
    endpoint.add_argument(
        "--no-function-path",
        action="store_true",
        help="call the URL itself, without /{function.name} appended (always so with an Azure key)",
    )
    cli.add_argument("--base", help="an existing module.yaml whose ingresses and egresses are kept")
    cli.add_argument(
        "--format",
        choices=["yaml", "configmap"],
        default="yaml",
        help="module.yaml, or a Kubernetes ConfigMap holding it",
    )
    cli.add_argument("--configmap-name", default="statefun-module", help="with --format configmap")
    cli.add_argument("-o", "--output", default="-", help="file to write (default: stdout)")


def _add_package(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    cli = sub.add_parser(
        "package",
        help=PACKAGE_HELP,
        description=(
            "aws: the Lambda zip, with the dependencies for the Lambda platform (wheels only), the statefun-faas "
            "core and adapters, your functions module and a handler module (statefun_handler.handler), every module "
            "precompiled for fast cold starts. gcp, azure, container: the source the platform builds, with every "
            "wheel it needs in vendor/ (statefun-faas built from this installation) and a requirements.txt that "
            "installs from there without a package index, your module and the entry file: main.py (entry point "
            "statefun), function_app.py and host.json, or a Dockerfile running uvicorn on main:app."
        ),
    )
    cli.add_argument("platform", choices=list(PLATFORMS), help="the platform to package for")
    cli.add_argument("target", help="module_or_file[:attr] of your StatefulFunctions registry (attr: functions)")
    outputs = ", ".join(f"{platform.output} ({name})" for name, platform in PLATFORMS.items())
    cli.add_argument("-o", "--output", help=f"the zip (name ending .zip) or folder to write (default: {outputs})")
    pythons = ", ".join(f"{platform.python} ({name})" for name, platform in PLATFORMS.items())
    cli.add_argument("--python", choices=sorted(GLIBC), help=f"the platform's Python (default: {pythons})")
    cli.add_argument("--arch", choices=sorted(ARCHES), help="the machine (default: arm64 for aws, else x86_64)")
    cli.add_argument("-r", "--requirement", action="append", default=[], help="extra requirements file")
    cli.add_argument("--compile-python", help="aws: interpreter for the .pyc (default: found by version)")
    cli.add_argument("--no-compile", action="store_true", help="aws: ship sources only (slower cold starts)")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="statefun-faas", description=DESCRIPTION)
    top.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    top.add_argument("--debug", action="store_true", help="show full tracebacks of errors")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    _add_views(sub)
    _add_serve(sub)
    _add_module(sub)
    _add_package(sub)
    return top
