"""The three image recipes built for real by buildah and run by podman, without a daemon.

The function server's image (the Dockerfile of ``statefun-faas package container``), the local
runtime's (deploy/runtime/Dockerfile, from the repository's root as documented) and the
container-image Lambda's (deploy/aws/container/Dockerfile, from the unzipped ``package aws``).
Their default base, python:3.x-slim-bookworm, is on Docker Hub, which this machine can not
reach: the base here is built from Debian 12's packages (tests/deploy/images.py) and swapped
in with ``--build-arg BASE=...``, the recipes' one argument for it; the packages are built for
that base's Python. Each image runs as the platform would run it, on the host's network:

- function server: built with no network at all (its wheels are in vendor/), started with
  ``$PORT`` set, answers every conformance request on that port, runs as uid 10001, exits 0
  on SIGTERM (``podman stop``);
- local runtime: module.yaml mounted at /config, a named volume at /state; the greeter served
  on the machine answers a message put into the playground ingress with a greeting on the
  egress; uid 10001; exit 0 on SIGTERM, the state in the volume;
- Lambda: awslambdaric polls the Runtime API emulator on the machine's loopback and the handler
  answers every conformance request; uid 10001.

Run by its own step of .ci/run (``pytest tests/deploy/test_images.py``; conftest.py keeps it out
of the other runs), as root, with buildah, podman, runc and debootstrap installed by apt-get.
Each build's time and each image's size are printed.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.conformance import CASES, check
from tests.adapters.lambda_runtime_emulator import Runtime, RuntimeApiEmulator
from tests.adapters.support import call, free_port, running, subprocess_env
from tests.deploy.greeter import GREETER, greet, greeting, module_yaml
from tests.deploy.images import Build, Engine, debian_python, limit_options, pip_settings, python_version
from tests.deploy.lambda_image import SETTINGS, answer_conformance, lambda_context, lambda_variables
from tests.deploy.module_cli import run_console

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ("buildah", "podman", "runc", "debootstrap")
USER = 10001  # the recipes' USER
MB = 1e6

_missing = [tool for tool in TOOLS if shutil.which(tool) is None]
if _missing or os.geteuid() != 0:
    pytest.skip(
        f"needs root and {', '.join(TOOLS)} (missing: {', '.join(_missing) or 'root'}); the images step of .ci/run "
        "installs them with apt-get install buildah podman runc debootstrap",
        allow_module_level=True,
    )


@pytest.fixture(scope="module")
def engine(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    engine = Engine(tmp_path_factory.mktemp("containers"))
    try:
        yield engine
    finally:
        engine.close()


@pytest.fixture(scope="module")
def base(engine: Engine) -> Build:
    built = debian_python(engine, "localhost/statefun-faas-test-base:bookworm")
    print(f"\nbase image from Debian packages: {built.seconds:.1f} s, {engine.size(built.tag) / MB:.0f} MB")
    return built


@pytest.fixture(scope="module")
def python(engine: Engine, base: Build) -> str:
    return python_version(engine, base.tag)


def _report(engine: Engine, base: Build, built: Build) -> None:
    size = engine.size(built.tag)
    extra = size - engine.size(base.tag)
    print(f"\n{built.tag}: built in {built.seconds:.1f} s, {size / MB:.0f} MB ({extra / MB:.1f} MB over the base)")


def _wait_for_port(engine: Engine, container: str, port: int, timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            running = engine.podman("inspect", "--format", "{{.State.Running}}", container)
            assert running == "true", f"the container exited:\n{engine.logs(container)[-3000:]}"
            time.sleep(0.1)
    raise AssertionError(f"nothing listens on {port} after {timeout} s:\n{engine.logs(container)[-3000:]}")


def test_function_server_image_builds_offline_and_serves_port_as_non_root_until_sigterm(
    engine: Engine, base: Build, python: str, tmp_path: Path
) -> None:
    context = tmp_path / "container"
    target = ROOT / "tests" / "adapters" / "conformance_functions.py"
    args = ["package", "container", f"{target}:functions", "-o", str(context), "--python", python]
    result = run_console([*args, "--arch", "x86_64"], cwd=tmp_path)
    assert result.code == 0, result.err
    built = engine.build(context, "localhost/statefun-functions", f"--build-arg=BASE={base.tag}")  # no network
    _report(engine, base, built)
    port = free_port()
    settings = [f"--env={name}={value}" for name, value in {"PORT": str(port), **SETTINGS}.items()]
    container = engine.start(built.tag, *settings)
    _wait_for_port(engine, container, port)
    for case in CASES:
        check(case, *call(port, case))
    assert engine.pid1_uid(container) == USER
    assert engine.stop(container) == 0, engine.logs(container)[-3000:]  # 137 if it had to be killed
    assert "Finished server process" in engine.logs(container)


def test_runtime_image_builds_from_the_repository_and_runs_the_greeter_until_sigterm(
    engine: Engine, base: Build, tmp_path: Path
) -> None:
    dockerfile = ROOT / "deploy" / "runtime" / "Dockerfile"
    options = [f"--build-arg=BASE={base.tag}", "--network=host", *pip_settings(tmp_path)]  # [runtime] from the index
    built = engine.build(ROOT, "localhost/statefun-faas-runtime", *options, dockerfile=dockerfile)
    _report(engine, base, built)
    function, ingress, egress = free_port(), free_port(), free_port()
    (tmp_path / "module.yaml").write_text(module_yaml(function, ingress, egress))
    serve = ["statefun-faas", "serve", str(GREETER / "functions.py"), "--port", str(function)]
    with running(serve, tmp_path / "functions.log", subprocess_env(), cwd=tmp_path) as functions:
        functions.wait_for_port(function)
        mounts = [f"--volume={tmp_path / 'module.yaml'}:/config/module.yaml:ro", "--volume=statefun-state:/state"]
        container = engine.start(built.tag, *mounts)
        _wait_for_port(engine, container, ingress)
        greet(ingress, "Bob")
        assert "Hello there Bob" in greeting(egress)
        assert engine.pid1_uid(container) == USER
        assert engine.stop(container) == 0, engine.logs(container)[-3000:]
    volume = Path(engine.podman("volume", "inspect", "--format", "{{.Mountpoint}}", "statefun-state"))
    assert any(volume.iterdir())  # the state store is in the volume


def test_lambda_image_answers_through_awslambdaric_as_non_root(
    engine: Engine, base: Build, python: str, tmp_path: Path
) -> None:
    context = lambda_context(tmp_path / "lambda-image", python)
    options = [f"--build-arg=BASE={base.tag}", "--network=host", *pip_settings(tmp_path)]  # awslambdaric from the index
    built = engine.build(context, "localhost/statefun-lambda", *options)
    _report(engine, base, built)
    api = RuntimeApiEmulator()
    variables = [f"--env={name}={value}" for name, value in lambda_variables(api).items()]
    command = ["podman", *engine.podman_options, "run", "--rm", "--name=lambda", "--network=host", *limit_options()]
    with tempfile.TemporaryFile() as output:
        # the podman client in the foreground: its output is the function's, it lives as long as the container
        process = subprocess.Popen(
            [*command, *variables, built.tag], stdin=subprocess.DEVNULL, stdout=output, stderr=subprocess.STDOUT
        )
        try:
            answer_conformance(Runtime(api, process, output))
            assert engine.pid1_uid("lambda") == USER
        finally:
            subprocess.run(["podman", *engine.podman_options, "rm", "--force", "lambda"], capture_output=True)
            process.wait(timeout=30)
            api.close()
