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

# subcommand -> "module:function"; the function takes the parsed argparse.Namespace and
# returns the process exit code.
COMMANDS = {
    "run": "statefun_faas.runtime.commands:run",
    "dev": "statefun_faas.runtime.commands:dev",
    "send": "statefun_faas.runtime.commands:send",
    "state": "statefun_faas.runtime.commands:state",
    "dead-letters": "statefun_faas.runtime.commands:dead_letters",
    "serve": "statefun_faas.serve:main",
    "module": "statefun_faas.deploy.module_command:main",
    "package": "statefun_faas.deploy.package:main",
}

DEFAULT_STATE_DIR = ".statefun-faas"


def port(text: str) -> int:
    """A TCP port number for argparse: 0 (any free port) to 65535."""
    if not text.isdigit() or int(text) > 65535:
        raise argparse.ArgumentTypeError(f"{text!r} is no port number; give 0 to 65535 (0 picks a free one)")
    return int(text)


def _add_run(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    run = sub.add_parser("run", help="run a StateFun application from module.yaml on the local runtime")
    run.add_argument("--module", required=True, help="the module.yaml file")
    run.add_argument("--state", default=DEFAULT_STATE_DIR, help="state directory (default: %(default)s)")
    run.add_argument("--host", default="127.0.0.1", help="address the ingress/egress ports bind")
    run.add_argument("--local-io", action="store_true", help="bind Kafka/Kinesis ingress/egress to local topics")
    run.add_argument("--egress", action="append", default=[], metavar="ID=stdout|jsonl:PATH")
    run.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL", help="SQLite durability")
    run.add_argument("--local-io-port", type=port, default=8092, help="port of local Kafka/Kinesis topics")
    _add_port_limits(run)

    dev = sub.add_parser("dev", help="run a StatefulFunctions registry in-process with playground I/O")
    dev.add_argument("target", help="module_or_file[:attr], attr defaults to 'functions'")
    dev.add_argument("--module", help="module.yaml for ingress/egress (default: playground on 8090/8091)")
    dev.add_argument("--state", default=DEFAULT_STATE_DIR, help="state directory (default: %(default)s)")
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--egress", action="append", default=[], metavar="ID=stdout|jsonl:PATH")
    dev.add_argument("--ingress-port", type=port, default=8090, help="playground ingress port (no --module)")
    dev.add_argument("--egress-port", type=port, default=8091, help="playground egress port (no --module)")
    dev.add_argument("--synchronous", choices=["NORMAL", "FULL"], default="NORMAL", help="SQLite durability")
    _add_port_limits(dev)

    send = sub.add_parser("send", help="send a message through the running app's ingress")
    send.add_argument("address", metavar="NAMESPACE/TYPE/ID")
    send.add_argument("value", help="the message body (text or JSON)")
    send.add_argument("--type", dest="typename", help="the value's typename (default io.statefun.types/string)")
    send.add_argument("--ingress", default="http://127.0.0.1:8090", help="the ingress URL")

    state = sub.add_parser("state", help="print the stored state of one address")
    state.add_argument("address", metavar="NAMESPACE/TYPE/ID")
    state.add_argument("--state", dest="state_dir", default=DEFAULT_STATE_DIR)

    dead = sub.add_parser("dead-letters", help="list or replay dead-lettered messages")
    dead.add_argument("--state", dest="state_dir", default=DEFAULT_STATE_DIR)
    dead.add_argument("--replay", nargs="*", metavar="ID", help="replay these ids (none given: all)")


def _add_port_limits(parser: argparse.ArgumentParser) -> None:
    """Bounds of the runtime's listening ports; unset, the defaults of statefun_faas.runtime.httpserver.HttpLimits."""
    limits = parser.add_argument_group("limits of every listening port (defaults in docs/security.md)")
    limits.add_argument("--header-timeout", type=float, metavar="SECONDS", help="time for a request's head")
    limits.add_argument("--idle-timeout", type=float, metavar="SECONDS", help="time a kept connection may idle")
    limits.add_argument("--max-connections", type=int, metavar="N", help="open connections per port")


def _add_serve(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="serve a StatefulFunctions registry over HTTP")
    serve.add_argument("target", help="module_or_file[:attr], attr defaults to 'functions'")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=port, default=8000, help="0 picks a free one")


def _add_deploy(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    module = sub.add_parser("module", help="write module.yaml endpoints from deployed function URLs")
    module.add_argument("rest", nargs=argparse.REMAINDER, help="see 'statefun-faas module --help'")
    package = sub.add_parser("package", help="build a deployment package")
    package.add_argument("rest", nargs=argparse.REMAINDER, help="see 'statefun-faas package --help'")


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="statefun-faas", description=__doc__.split("\n\n")[0])
    top.add_argument("--debug", action="store_true", help="show full tracebacks of errors")
    sub = top.add_subparsers(dest="command", required=True, metavar="COMMAND")
    _add_run(sub)
    _add_serve(sub)
    _add_deploy(sub)
    return top


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


# Subcommands that parse their own arguments (cli.py only routes to them).
PASS_THROUGH = ("module", "package")


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    debug = args[:1] == ["--debug"]
    first = 1 if debug else 0  # the subcommand's position
    if args[first : first + 1] and args[first] in PASS_THROUGH:
        rest = args[first + 1 :]
        if rest[:1] == ["--"]:
            rest = rest[1:]
        return _load(args[first])(argparse.Namespace(command=args[first], rest=rest, debug=debug))
    options = parser().parse_args(args)
    return _load(options.command)(options)


if __name__ == "__main__":
    sys.exit(main())
