"""``statefun-faas module stack``: the URL from CloudFormation stack outputs, through boto3.

CloudFormation can not run offline, so these tests talk to moto's server, a mock of the AWS
API on loopback: the only offline option. What they show is our side (describe_stacks, the
output names the templates declare, the errors); the templates themselves are checked by
cfn-lint, sam validate and the SAM translator (test_templates.py, scripts/lint-deploy).
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from moto.server import ThreadedMotoServer

from statefun_faas.moduleyaml.reader import parse_module
from tests.deploy.module_cli import run_module
from tests.deploy.templates import fixture_json

REGION = "eu-west-1"
pytestmark = pytest.mark.slow  # moto and its server take seconds to import and start


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture(autouse=True)
def fake_credentials(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")


def _create_stack(endpoint: str, name: str, outputs: dict[str, str]) -> None:
    """A stack whose outputs carry the values a deployed deploy/aws template would give."""
    template = {
        "Resources": {"Placeholder": {"Type": "AWS::SNS::Topic"}},  # a resource moto supports
        "Outputs": {key: {"Value": value} for key, value in outputs.items()},
    }
    client = boto3.client("cloudformation", region_name=REGION, endpoint_url=endpoint)
    client.create_stack(StackName=name, TemplateBody=json.dumps(template))


def _module(endpoint: str, stack: str, capsys: pytest.CaptureFixture[str], *extra: str) -> tuple[int, str, str]:
    args = ["stack", stack, "--region", REGION, "--endpoint-url", endpoint, "--functions", "example/*", *extra]
    result = run_module(args, capsys)
    return result.code, result.out, result.err


def test_stack_outputs_become_the_endpoint(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    outputs = fixture_json("stack-outputs.json")  # exactly the outputs the templates declare
    _create_stack(moto_endpoint, "greeter", outputs)
    code, out, err = _module(moto_endpoint, "greeter", capsys, "--token", "tok")
    assert code == 0, err
    (endpoint,) = parse_module(out).endpoints
    url = outputs["StatefunFunctionUrl"].rstrip("/")
    assert endpoint.url_path_template == f"{url}/{{function.name}}?token=tok"
    assert "reading the outputs of CloudFormation stack 'greeter'" in err


def test_missing_stack(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, err = _module(moto_endpoint, "nope", capsys, "--token", "tok")
    assert (code, out) == (2, "")
    assert f"CloudFormation stack 'nope' not found in region {REGION}" in err


def test_stack_without_the_url_output(moto_endpoint: str, capsys: pytest.CaptureFixture[str]) -> None:
    _create_stack(moto_endpoint, "other", {"SomethingElse": "x"})
    code, _, err = _module(moto_endpoint, "other", capsys, "--token", "tok")
    assert code == 2
    assert "stack 'other' has no output 'StatefunFunctionUrl' (outputs: SomethingElse)" in err
    _, out, _ = _module(
        moto_endpoint, "other", capsys, "--token", "tok", "--output-key", "SomethingElse", "--allow-http"
    )
    assert code == 2  # 'x' is no URL: refused by the URL checks, not passed on
    assert out == ""
