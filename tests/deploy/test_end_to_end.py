"""Template outputs -> ``statefun-faas module`` -> module.yaml -> functions reached through the templated URL.

The "deployment" is our ASGI adapter under a real uvicorn server on loopback, holding a token;
its URL goes into the outputs the AWS Terraform template declares (the fixture) and its token
into an output ``statefun_token`` (which a configuration of one's own may declare), so the only
thing standing in for the cloud is the address.
"""

from __future__ import annotations

import json
import socket
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn

from statefun_faas import StringType
from statefun_faas.adapters.asgi import asgi_app
from statefun_faas.moduleyaml.reader import load_module
from tests.builders import Request, decode, typed
from tests.deploy.module_cli import run_module
from tests.deploy.templates import fixture_json
from tests.runtime.apps import functions
from tests.runtime.processes import RuntimeProcess, put, take
from tests.runtime.servers import PLAYGROUND_IO

TOKEN = "e2e-Token_0123456789abcdef"


@pytest.fixture(scope="module")
def function_url() -> Iterator[str]:
    """Our ASGI app, demanding TOKEN, under uvicorn on a free loopback port."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    config = uvicorn.Config(asgi_app(functions, tokens=(TOKEN,)), lifespan="off", log_level="critical")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [listener]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert thread.is_alive(), "uvicorn stopped while starting"
        assert time.monotonic() < deadline, "uvicorn did not start in 10 s"
        time.sleep(0.01)
    yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    server.should_exit = True
    thread.join(10)
    listener.close()


def _outputs(tmp_path: Path, url: str) -> Path:
    """The AWS template's terraform outputs, pointing at the loopback "deployment"."""
    outputs = fixture_json("terraform-output-aws.json")
    outputs["function_url"]["value"] = url
    # The AWS template keeps the token out of its outputs; a configuration of one's own may output it.
    outputs["statefun_token"] = {"sensitive": True, "type": "string", "value": TOKEN}
    path = tmp_path / "outputs.json"
    path.write_text(json.dumps(outputs), encoding="utf-8")
    return path


def _generate(tmp_path: Path, url: str, capsys: pytest.CaptureFixture[str], *extra: str) -> Path:
    module = tmp_path / "module.yaml"
    args = ["terraform", str(_outputs(tmp_path, url)), "--functions", "test/*", "--allow-http", "-o", str(module)]
    result = run_module([*args, *extra], capsys)
    assert result.code == 0, result.err
    return module


def _post(url: str, body: bytes) -> tuple[int, bytes]:
    request = urllib.request.Request(url, data=body, method="POST")
    request.add_header("Content-Type", "application/octet-stream")
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_local_runtime_reaches_the_function_through_the_generated_module(
    tmp_path: Path, function_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    base = tmp_path / "base.yaml"
    base.write_text(PLAYGROUND_IO.lstrip("\n-"), encoding="utf-8")
    module = _generate(tmp_path, function_url, capsys, "--base", str(base))
    assert f"?token={TOKEN}" in module.read_text(encoding="utf-8")
    runtime = RuntimeProcess.start(tmp_path / "runtime.log", "run", "--module", str(module), "--state", str(tmp_path))
    try:
        assert put(runtime.ports["ingress"], "test/counter/k", b"hello")
        assert take(runtime.ports["egress"], "counts", 1) == ["k:1:hello:-"]
    finally:
        runtime.stop()


def test_templated_url_with_path_token_reaches_the_function(
    tmp_path: Path, function_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    module = load_module(_generate(tmp_path, function_url, capsys, "--token-in", "path"))
    endpoint = module.endpoint_for("test/counter")
    assert endpoint is not None
    url = endpoint.url_for("test/counter")
    assert url == f"{function_url}t/{TOKEN}/counter"
    body = Request("test/counter", "k").state("count").message(typed(StringType, "hi")).bytes()
    status, answer = _post(url, body)
    assert status == 200
    assert decode(answer).WhichOneof("response") == "invocation_result"
    assert _post(url.replace(TOKEN, "wrong-token"), body)[0] == 401
