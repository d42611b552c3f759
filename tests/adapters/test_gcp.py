"""Google: the real functions-framework server (gunicorn threads) on loopback, over real HTTP."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.adapters.conformance import GOOD, MAX_BODY, Case
from tests.adapters.support import ALL_CASES, call, free_port, hammer, run_conformance, running

MAIN = Path(__file__).with_name("gcp_main.py")
FRAMEWORK = Path(sys.executable).with_name("functions-framework")


@pytest.fixture(scope="module")
def port(tmp_path_factory: pytest.TempPathFactory) -> Iterator[int]:
    port = free_port()
    log = tmp_path_factory.mktemp("gcp") / "functions-framework.log"
    command = [str(FRAMEWORK), "--target", "statefun", "--source", str(MAIN), "--host", "127.0.0.1"]
    with running([*command, "--port", str(port)], log) as server:
        server.wait_for_port(port)
        yield port
        assert server.process.poll() is None, f"the server died:\n{server.output()[-3000:]}"


def test_conformance_under_functions_framework(port: int) -> None:
    run_conformance(port)


def test_eight_concurrent_clients_with_an_async_function(port: int) -> None:
    assert hammer(port, threads=8, requests=50) == []


def test_chunked_body_is_limited_while_streaming(port: int) -> None:
    assert call(port, ALL_CASES[0], chunked=True)[2] == ALL_CASES[0].expect
    big = Case("chunked too large", "POST", "/statefun", f"token={GOOD}", b"\x00" * (MAX_BODY + 1), 413)
    assert call(port, big, chunked=True)[0] == 413


def test_missing_extra_names_it(monkeypatch: pytest.MonkeyPatch) -> None:
    from statefun_faas.adapters.gcp import http_function
    from tests.adapters.support import FUNCTIONS

    monkeypatch.setitem(sys.modules, "flask", None)
    with pytest.raises(ImportError, match=r"pip install 'statefun-faas\[gcp\]'"):
        http_function(FUNCTIONS)
