"""The pytest fixtures an application's tests use, on the greeter example."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

from statefun_faas import IntType, StringType, make_json_type
from statefun_faas.cli.target import load_functions
from statefun_faas.pytest_plugin import RunningRuntime
from statefun_faas.testing import FunctionTester

GREETER = Path(__file__).resolve().parents[2] / "examples" / "greeter" / "functions.py"


def test_statefun_tester_fixture(statefun_tester: Callable[..., FunctionTester]) -> None:
    functions = load_functions(str(GREETER))
    tester = statefun_tester(functions)
    for _ in range(3):
        tester.send("example/person", "Ann", {"name": "Ann"}, make_json_type("example/GreetRequest"))
    greetings = tester.egress_payloads("io.statefun.playground/egress", "greetings")
    assert greetings == [f"Hello there Ann at the {n} time!".encode() for n in ("1st", "2nd", "3rd")]
    assert tester.state("example/person", "Ann", "visits", IntType) == 3
    assert tester.state("example/person", "Ann", "last_greeting", StringType) == "Hello there Ann at the 3rd time!"


def test_statefun_runtime_fixture(statefun_runtime: Callable[..., RunningRuntime]) -> None:
    running = statefun_runtime(functions=load_functions(str(GREETER)))
    running.send("example/person/Bob", '{"name": "Bob"}', "example/GreetRequest")
    assert running.take("greetings") == [b"Hello there Bob at the 1st time!"]


def test_the_plugin_loads_no_runtime_dependency() -> None:
    code = "import sys, statefun_faas.pytest_plugin; print(sorted(m for m in ('aiohttp', 'yaml') if m in sys.modules))"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "[]"
