"""Run an example as a user would: its functions under ``statefun-faas serve``, its module.yaml under
``statefun-faas run``, both real processes on free loopback ports; talk to them over HTTP."""

from __future__ import annotations

import importlib.util
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from tests.runtime.processes import RuntimeProcess, free_port, wait_for_port

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example_module(example: str, name: str) -> ModuleType:
    """Import ``examples/<example>/<name>.py`` under a name of its own.

    Every example imports its neighbour as ``functions``; while this one loads, that name is
    its own functions.py, so examples loaded into one test session do not see each other's.
    """
    folder = EXAMPLES / example
    saved = sys.modules.pop("functions", None)
    sys.path.insert(0, str(folder))
    try:
        if name != "functions":
            sys.modules["functions"] = example_module(example, "functions")
        spec = importlib.util.spec_from_file_location(f"example_{example}_{name}", folder / f"{name}.py")
        assert spec is not None
        assert spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[spec.name] = module
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(folder))
        sys.modules.pop("functions", None)
        if saved is not None:
            sys.modules["functions"] = saved


@contextmanager
def served(target: str, log: Path) -> Iterator[int]:
    """``statefun-faas serve TARGET`` on a free port; yields the port."""
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("STATEFUN_FAAS_")}
    with log.open("wb") as sink:
        command = [sys.executable, "-m", "statefun_faas.cli", "serve", target, "--port", str(port)]
        process = subprocess.Popen(command, stdout=sink, stderr=subprocess.STDOUT, env=env)
    try:
        wait_for_port(port)
        assert process.poll() is None, log.read_text()
        yield port
    finally:
        process.send_signal(signal.SIGINT)
        process.wait(20)


def local_module(example: str, function_port: int, folder: Path) -> Path:
    """The example's module.yaml with the functions on ``function_port`` and free ingress/egress ports."""
    text = (EXAMPLES / example / "module.yaml").read_text(encoding="utf-8")
    assert "http://127.0.0.1:8000/" in text
    assert "port: 8090" in text
    assert "port: 8091" in text
    text = text.replace("http://127.0.0.1:8000/", f"http://127.0.0.1:{function_port}/")
    path = folder / "module.yaml"
    path.write_text(text.replace("port: 8090", "port: 0").replace("port: 8091", "port: 0"), encoding="utf-8")
    return path


@dataclass
class Application:
    ingress: str
    egress: str
    runtime: RuntimeProcess


@contextmanager
def running(example: str, target: str, tmp_path: Path) -> Iterator[Application]:
    """The example's functions served over HTTP and its module.yaml run by ``statefun-faas run``."""
    with served(target, tmp_path / "serve.log") as port:
        module = local_module(example, port, tmp_path)
        args = ("run", "--module", str(module), "--state", str(tmp_path / "state"))
        runtime = RuntimeProcess.start(tmp_path / "run.log", *args)
        try:
            urls = [f"http://127.0.0.1:{runtime.ports[role]}" for role in ("ingress", "egress")]
            yield Application(urls[0], urls[1], runtime)
        finally:
            assert runtime.stop() == 0, runtime.log.read_text()
