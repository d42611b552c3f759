"""Every adapter served on loopback as the endpoint a StateFun runtime calls, and the module.yaml for them.

One front per adapter, each serving the counters of its namespaces (tests/engine/functions.py):

- ``asgi``: the ASGI app under uvicorn; ``wsgi``: the WSGI app under gunicorn (gthread worker);
  ``gcp``: the HTTP function under the real functions-framework; ``serve``: ``statefun-faas
  serve``. Each is a child process with ``STATEFUN_FAAS_TOKENS`` set, called with the token
  as ``?token=`` (namespace ``<front>-query``) and as ``/t/<token>/`` (``<front>-path``).
- ``lambda``: the Lambda handler in AWS's runtime client behind a Function URL front
  (function_url.py), with the same two token forms.
- ``azure``: a FunctionApp behind a front playing the Functions host (azure_host.py), with
  two routes: ``/api/statefun`` takes the function key alone (``?code=``, namespace
  ``azure-code``), ``/api/statefun-token`` the key and our token (``azure-code-query``).

:func:`deployment` starts them (all, or the ones named) with fresh credentials, stops them at
the end of the block, and writes a module.yaml routing every namespace to its front
(:func:`write_module`): the endpoints as ``statefun-faas module`` writes them
(``{function.name}`` templates, credentials in the URL), then the Kafka ingress and egress of
functions.py on the broker given.
"""

from __future__ import annotations

import secrets
import sys
import urllib.request
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import azure.functions as func

from statefun_faas.adapters.azure import register
from statefun_faas.cli import main as cli_main
from tests.adapters.support import Server, free_port, running, subprocess_env
from tests.engine.azure_host import azure_host
from tests.engine.function_url import function_url
from tests.engine.functions import FORMS, io_documents, namespace, namespaces, registry
from tests.engine.http_front import Incoming

REPOSITORY = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
TOKENS_ENV = "STATEFUN_FAAS_TOKENS"

# What each front serves: the module, the adapter's factory, the attribute the server loads.
_APPS = {
    "asgi": ("statefun_faas.adapters.asgi", "asgi_app", "app"),
    "wsgi": ("statefun_faas.adapters.wsgi", "wsgi_app", "app"),
    "gcp": ("statefun_faas.adapters.gcp", "http_function", "statefun"),
    "lambda": ("statefun_faas.adapters.aws_lambda", "lambda_handler", "handler"),
}
PROCESS_FRONTS = ("asgi", "wsgi", "gcp", "serve")


@dataclass(frozen=True)
class Credentials:
    """Our URL token (``STATEFUN_FAAS_TOKENS`` of every front) and the Azure function key."""

    token: str
    code: str

    @classmethod
    def fresh(cls) -> Credentials:
        return cls(secrets.token_urlsafe(18), secrets.token_urlsafe(30))


@dataclass
class Front:
    """A running front: its base URL per credential form, and what its front door received (if it records)."""

    name: str
    urls: dict[str, str]
    received: list[Incoming] | None = None
    processes: list[Server] = field(default_factory=list)

    def module_args(self, form: str, credentials: Credentials) -> list[str]:
        """The ``statefun-faas module`` arguments for this front called with credential ``form``."""
        args = ["url", self.urls[form], "--functions", f"{namespace(self.name, form)}/*", "--allow-http"]
        # --name=value: a token_urlsafe secret may start with "-", which argparse would take for an option
        token, code = [f"--token={credentials.token}"], [f"--code={credentials.code}"]
        by_form = {"query": token, "path": [*token, "--token-in", "path"], "code": code, "code-query": code + token}
        return args + by_form[form]


def app_source(name: str) -> str:
    """The Python file front ``name`` loads: its registry, wrapped by its adapter (``serve`` takes the registry)."""
    # The repository goes at the end of sys.path, for the tests package only: statefun_faas stays the
    # installed package, as on a platform.
    lines = [
        f"import sys\nsys.path.append({str(REPOSITORY)!r})",
        "from tests.engine.functions import namespaces, registry",
    ]
    functions = f"registry(*namespaces({name!r}))"
    if name == "serve":
        lines.append(f"functions = {functions}")
    else:
        module, factory, attribute = _APPS[name]
        lines += [f"from {module} import {factory}", f"{attribute} = {factory}({functions})"]
    return "\n".join(lines) + "\n"


def front_door_targets(front: str, credentials: Credentials) -> set[str]:
    """The request targets (path and query) a caller expanding the module's templates sends to ``front``'s door.

    Known for the fronts that record what they receive (``lambda``, ``azure``): ``{function.name}``
    becomes ``counter``, and every credential stays where ``statefun-faas module`` put it.
    """
    token, code = credentials.token, credentials.code
    return {
        "lambda": {f"/counter?token={token}", f"/t/{token}/counter"},
        "azure": {f"/api/statefun?code={code}", f"/api/statefun-token?token={token}&code={code}"},
    }[front]


def _command(name: str, folder: Path, port: int) -> list[str]:
    host = ["--host", "127.0.0.1", "--port", str(port)]
    if name == "asgi":
        options = ["--app-dir", str(folder), "--no-access-log", "--log-level", "warning"]
        return [sys.executable, "-m", "uvicorn", "asgi_main:app", *host, *options]
    if name == "wsgi":
        options = ["--bind", f"127.0.0.1:{port}", "--threads", "8", "--chdir", str(folder)]
        return [_tool("gunicorn"), *options, "wsgi_main:app"]
    if name == "gcp":
        return [_tool("functions-framework"), "--target", "statefun", "--source", str(folder / "gcp_main.py"), *host]
    return [sys.executable, "-m", "statefun_faas.cli", "serve", str(folder / "serve_main.py"), *host]


def _tool(name: str) -> str:
    path = BIN / name
    if not path.exists():
        raise AssertionError(f"{name} is not installed beside {sys.executable}: pip install -e '.[dev]'")
    return str(path)


@contextmanager
def _process_fronts(names: Sequence[str], folder: Path, credentials: Credentials) -> Iterator[list[Front]]:
    """The child-process fronts, started together, each ready (listening) when the block starts."""
    env = {**subprocess_env(), TOKENS_ENV: credentials.token}
    with ExitStack() as stack:
        started = []
        for name in names:
            (folder / f"{name}_main.py").write_text(app_source(name), "utf-8")
            port = free_port()
            server = stack.enter_context(running(_command(name, folder, port), folder / f"{name}.log", env, cwd=folder))
            started.append((name, port, server))
        for name, port, server in started:
            server.wait_for(_healthy(port), f"the {name} front's health answer", timeout=60)
        url = "http://127.0.0.1:{}".format
        yield [Front(name, dict.fromkeys(FORMS[name], url(port)), None, [server]) for name, port, server in started]
        for name, _, server in started:
            assert server.process.poll() is None, f"the {name} front died:\n{server.output()[-3000:]}"


def _healthy(port: int) -> Callable[[str], bool]:
    """Whether GET /healthz answers 200: the app is loaded, not only the port bound (gunicorn binds first)."""

    def answers(_: str) -> bool:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=5) as answer:
                return bool(answer.status == 200)
        except OSError:
            return False

    return answers


@contextmanager
def _lambda_front(credentials: Credentials) -> Iterator[Front]:
    with function_url(app_source("lambda"), {TOKENS_ENV: credentials.token}) as served:
        yield Front("lambda", dict.fromkeys(FORMS["lambda"], served.url), served.received)


@contextmanager
def _azure_front(credentials: Credentials) -> Iterator[Front]:
    app = func.FunctionApp(http_auth_level=func.AuthLevel.FUNCTION)
    register(app, registry(namespace("azure", "code")))  # POST /api/statefun, our own token check off
    secured = registry(namespace("azure", "code-query"))
    register(app, secured, route="statefun-token", name="statefun_token", tokens=[credentials.token], health_route=None)
    with azure_host(app, [credentials.code]) as served:
        urls = {"code": f"{served.url}/api/statefun", "code-query": f"{served.url}/api/statefun-token"}
        yield Front("azure", urls, served.received)


@contextmanager
def fronts(folder: Path, credentials: Credentials, names: Iterable[str] = FORMS) -> Iterator[list[Front]]:
    """The fronts named (default: all), on loopback until the block ends; ``folder`` gets their apps and logs."""
    wanted = list(names)
    unknown = sorted(set(wanted) - set(FORMS))
    if unknown:
        raise ValueError(f"unknown fronts {unknown}; choose among {sorted(FORMS)}")
    with ExitStack() as stack:
        started = stack.enter_context(_process_fronts([n for n in wanted if n in PROCESS_FRONTS], folder, credentials))
        if "lambda" in wanted:
            started.append(stack.enter_context(_lambda_front(credentials)))
        if "azure" in wanted:
            started.append(stack.enter_context(_azure_front(credentials)))
        yield sorted(started, key=lambda front: wanted.index(front.name))


def endpoint_documents(running_fronts: Iterable[Front], credentials: Credentials, folder: Path) -> str:
    """The endpoints of every front and form, each written by ``statefun-faas module`` into ``folder``."""
    parts = []
    for front in running_fronts:
        for form in FORMS[front.name]:
            output = folder / f"endpoint-{namespace(front.name, form)}.yaml"
            code = cli_main(["module", *front.module_args(form, credentials), "-o", str(output)])
            assert code == 0, f"statefun-faas module failed for {front.name} / {form}"
            parts.append(output.read_text("utf-8"))
    return "---\n".join(parts)


def write_module(path: Path, running_fronts: Sequence[Front], credentials: Credentials, broker: str) -> Path:
    """A module.yaml at ``path``: the endpoints of ``running_fronts``, then a Kafka ingress and egress on ``broker``."""
    spaces = [space for front in running_fronts for space in namespaces(front.name)]
    endpoints = endpoint_documents(running_fronts, credentials, path.parent)
    path.write_text(endpoints + "---\n" + io_documents(broker, spaces), "utf-8")
    return path


@dataclass(frozen=True)
class Deployment:
    """Fronts on loopback, the credentials they take, and a module.yaml routing every namespace of theirs."""

    fronts: list[Front]
    credentials: Credentials
    module: Path

    @property
    def namespaces(self) -> list[str]:
        return [space for front in self.fronts for space in namespaces(front.name)]


@contextmanager
def deployment(folder: Path, broker: str, names: Iterable[str] = FORMS) -> Iterator[Deployment]:
    """The fronts named (default: all) with fresh credentials, and ``folder``/module.yaml for Kafka on ``broker``."""
    credentials = Credentials.fresh()
    (folder / "fronts").mkdir(parents=True, exist_ok=True)
    with fronts(folder / "fronts", credentials, names) as running:
        yield Deployment(running, credentials, write_module(folder / "module.yaml", running, credentials, broker))
