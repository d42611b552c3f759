"""``statefun-faas module`` from explicit URLs and terraform outputs, checked by the module.yaml parser."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from statefun_faas.moduleyaml.reader import load_module, parse_module
from tests.deploy.module_cli import run_console, run_module
from tests.deploy.templates import FIXTURES, fixture_json

AWS_URL = fixture_json("terraform-output-aws.json")["function_url"]["value"].rstrip("/")
AWS_TOKEN = "Zm9vYmFyLXRva2VuLWZvci10ZXN0cw"  # the AWS template keeps the token out of its outputs: given here


def test_terraform_aws_outputs_give_a_namespace_endpoint_with_the_token(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "module.yaml"
    fixture = str(FIXTURES / "terraform-output-aws.json")
    args = ["terraform", fixture, "--functions", "example/*", "--token", AWS_TOKEN, "-o", str(target)]
    result = run_module(args, capsys)
    assert (result.code, result.out) == (0, "")
    (endpoint,) = load_module(target).endpoints
    assert endpoint.functions == "example/*"
    assert endpoint.url_path_template == f"{AWS_URL}/{{function.name}}?token={AWS_TOKEN}"
    assert endpoint.url_for("example/greeter") == f"{AWS_URL}/greeter?token={AWS_TOKEN}"
    assert "reading terraform outputs" in result.err
    assert "checked with the runtime's module.yaml parser" in result.err


def _real_terraform_output(folder: Path, url: str, secret_arn: str) -> str:
    """`terraform output -json` of a provider-free configuration declaring the AWS outputs."""
    env = {**os.environ, "CHECKPOINT_DISABLE": "1", "TF_IN_AUTOMATION": "1", "TF_CLI_CONFIG_FILE": os.devnull}
    variables = [f"-var=function_url={url}", f"-var=token_secret_arn={secret_arn}"]
    commands = [
        ["terraform", "init", "-input=false", "-no-color"],
        ["terraform", "apply", "-auto-approve", "-input=false", "-no-color", *variables],
    ]
    for command in commands:
        subprocess.run(command, cwd=folder, env=env, check=True, capture_output=True, timeout=120)
    done = subprocess.run(["terraform", "output", "-json"], cwd=folder, env=env, check=True, capture_output=True)
    return done.stdout.decode("utf-8")


def test_terraform_output_json_on_stdin_of_the_console_script(tmp_path: Path) -> None:
    url, token = "https://real-tf.lambda-url.eu-west-1.on.aws/", "tok-from-the-environment"
    arn = "arn:aws:secretsmanager:eu-west-1:123456789012:secret:tokens-AbCdEf"
    if shutil.which("terraform"):
        shutil.copytree(FIXTURES / "terraform-local", tmp_path / "tf")
        output = _real_terraform_output(tmp_path / "tf", url, arn)
    else:  # no terraform on this machine: the fixture has the same output names (test_templates checks)
        output = json.dumps({"function_url": {"value": url}, "token_secret_arn": {"value": arn}})
    args = ["module", "terraform", "-", "--functions", "example/*", "--token", token, "--token-in", "path"]
    result = run_console(args, stdin=output)
    assert result.code == 0, result.err
    (endpoint,) = parse_module(result.out).endpoints
    assert endpoint.url_path_template == f"https://real-tf.lambda-url.eu-west-1.on.aws/t/{token}/{{function.name}}"


def test_azure_key_goes_into_code_and_the_route_is_called_as_is(capsys: pytest.CaptureFixture[str]) -> None:
    outputs = fixture_json("terraform-output-azure.json")
    result = run_module(["terraform", str(FIXTURES / "terraform-output-azure.json"), "--functions", "shop/*"], capsys)
    assert result.code == 0, result.err
    (endpoint,) = parse_module(result.out).endpoints
    key = outputs["function_key"]["value"]
    assert endpoint.url_path_template == f"{outputs['function_url']['value']}?code={key}"
    assert "Azure" in result.err


def test_gcp_outputs_carry_no_token_so_one_must_be_given(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    fixture = str(FIXTURES / "terraform-output-gcp.json")
    refused = run_module(["terraform", fixture, "--functions", "example/*"], capsys)
    assert refused.code == 2
    assert "no credential for the URL" in refused.err
    monkeypatch.setenv("GCP_STATEFUN_TOKEN", "from-env")
    result = run_module(["terraform", fixture, "--functions", "example/*", "--token-env", "GCP_STATEFUN_TOKEN"], capsys)
    (endpoint,) = parse_module(result.out).endpoints
    assert (
        endpoint.url_path_template
        == "https://statefun-functions-a1b2c3d4e5-ew.a.run.app/{function.name}?token=from-env"
    )


REGISTRY = """
from statefun_faas import StatefulFunctions

functions = StatefulFunctions()
for typename in ("shop/cart", "shop/stock", "mail/sender"):
    functions.register(typename, lambda context, message: None)
"""


@pytest.mark.parametrize(
    ("extra", "expected"),
    [
        (
            [],
            {
                "mail/*": "https://fn.example/{function.name}?token=t",
                "shop/*": "https://fn.example/{function.name}?token=t",
            },
        ),
        (
            ["--per-function"],
            {
                "mail/sender": "https://fn.example/sender?token=t",
                "shop/cart": "https://fn.example/cart?token=t",
                "shop/stock": "https://fn.example/stock?token=t",
            },
        ),
    ],
)
def test_functions_taken_from_a_registry(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], extra: list[str], expected: dict[str, str]
) -> None:
    (tmp_path / "registry.py").write_text(REGISTRY, encoding="utf-8")
    target = f"{tmp_path / 'registry.py'}:functions"
    result = run_module(["url", "https://fn.example", "--target", target, "--token", "t", *extra], capsys)
    assert result.code == 0, result.err
    assert {e.functions: e.url_path_template for e in parse_module(result.out).endpoints} == expected


BASE = """\
kind: io.statefun.endpoints.v2/http
spec:
  functions: example/*
  urlPathTemplate: http://localhost:8000/{function.name}
---
kind: io.statefun.playground.v1/ingress
spec:
  port: 8090
---
kind: io.statefun.playground.v1/egress
spec:
  port: 8091
  topics: [greetings]
"""


def test_base_module_keeps_its_ingress_and_egress_and_loses_its_endpoints(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    (tmp_path / "base.yaml").write_text(BASE, encoding="utf-8")
    args = [
        "url",
        "https://fn.example/",
        "--functions",
        "example/*",
        "--token",
        "t",
        "--base",
        str(tmp_path / "base.yaml"),
    ]
    args += ["--transport", "okhttp", "--call-timeout", "90s", "--max-batch", "50"]
    result = run_module(args, capsys)
    module = parse_module(result.out)
    (endpoint,) = module.endpoints
    assert endpoint.url_path_template == "https://fn.example/{function.name}?token=t"
    assert (endpoint.max_num_batch_requests, endpoint.timeouts.call) == (50, 90.0)
    assert endpoint.transport == "io.statefun.transports.v1/okhttp"
    assert [ingress.port for ingress in module.ingresses] == [8090]
    assert [egress.topics for egress in module.egresses] == [("greetings",)]


def test_okhttp_steps_stay_within_a_short_call_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    # StateFun refuses an okhttp endpoint whose connect, read or write timeout exceeds call (default 10s each)
    args = ["url", "https://fn.example/", "--functions", "example/*", "--token", "t"]
    result = run_module([*args, "--transport", "okhttp", "--call-timeout", "5s"], capsys)
    (endpoint,) = parse_module(result.out).endpoints
    timeouts = endpoint.timeouts
    assert (timeouts.call, timeouts.connect, timeouts.read, timeouts.write) == (5.0, 5.0, 5.0, 5.0)


@pytest.mark.parametrize("mode", ["FAIL", "DROP"])
def test_failure_mode_is_written_only_when_asked(capsys: pytest.CaptureFixture[str], mode: str) -> None:
    """The com.sbbsystems.flink fork's per-endpoint key: absent by default (Apache StateFun ignores it anyway)."""
    args = ["url", "https://fn.example/", "--functions", "example/*", "--token", "t"]
    plain = run_module(args, capsys)
    assert "failureMode" not in plain.out
    assert parse_module(plain.out).endpoints[0].failure_mode is None
    asked = run_module([*args, "--failure-mode", mode], capsys)
    assert asked.code == 0
    (document,) = yaml.safe_load_all(asked.out)
    assert document["spec"]["failureMode"] == mode
    assert parse_module(asked.out).endpoints[0].failure_mode == mode  # as the local runtime reads it


def test_unknown_failure_mode_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["url", "https://fn.example/", "--functions", "example/*", "--token", "t", "--failure-mode", "drop"]
    with pytest.raises(SystemExit) as exited:
        run_module(args, capsys)
    assert exited.value.code == 2
    err = capsys.readouterr().err
    assert "--failure-mode: invalid choice: 'drop'" in err
    assert "choose from" in err  # the choices follow, quoted or not depending on the Python version


def test_configmap_wraps_the_checked_module(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["url", "https://fn.example", "--functions", "example/*", "--token", "t", "--format", "configmap"]
    result = run_module(args, capsys)
    manifest = yaml.safe_load(result.out)
    assert (manifest["kind"], manifest["metadata"]["name"]) == ("ConfigMap", "statefun-module")
    (endpoint,) = parse_module(manifest["data"]["module.yaml"]).endpoints
    assert endpoint.functions == "example/*"


@pytest.mark.parametrize(
    ("outputs", "args", "message"),
    [
        ("{}", [], "no terraform output 'function_url' (outputs: none; has `terraform apply` run"),
        ('{"url": {"value": "https://x"}}', [], "outputs: url); name it with --output-name"),
        ('{"function_url": {"value": ""}}', [], "is empty"),
        ("not json", [], "not the JSON of `terraform output -json`"),
        ('{"function_url": {"value": "https://x"}}', ["--functions", "example"], "must be 'namespace/name'"),
        ('{"function_url": {"value": "https://x"}}', ["--per-function"], "--per-function needs --target"),
    ],
)
def test_clear_errors(capsys: pytest.CaptureFixture[str], outputs: str, args: list[str], message: str) -> None:
    result = run_module(["terraform", "-", "--token", "t", *(args or ["--functions", "example/*"])], capsys, outputs)
    assert result.code == 2
    assert message in result.err
    assert result.out == ""


@pytest.mark.parametrize("missing", ["terraform", "base"])
def test_missing_file(tmp_path: Path, capsys: pytest.CaptureFixture[str], missing: str) -> None:
    absent = str(tmp_path / "missing.json")
    source = absent if missing == "terraform" else str(FIXTURES / "terraform-output-aws.json")
    args = [
        "terraform",
        source,
        "--functions",
        "a/*",
        "--token",
        "t",
        *(["--base", absent] if missing == "base" else []),
    ]
    result = run_module(args, capsys)
    assert (result.code, result.out) == (2, "")
    assert f"can not read '{absent}': No such file or directory" in result.err


def test_unwritable_output(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    target = tmp_path / "no-such-folder" / "module.yaml"
    result = run_module(["url", "https://x.example", "--functions", "a/*", "--token", "t", "-o", str(target)], capsys)
    assert result.code == 2
    assert f"can not write '{target}': No such file or directory" in result.err


def test_bad_call_timeout(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["url", "https://x.example", "--functions", "a/*", "--token", "t", "--call-timeout", "5parsecs"]
    result = run_module(args, capsys)
    assert result.code == 2
    assert "--call-timeout: '5parsecs' has an unknown unit" in result.err
