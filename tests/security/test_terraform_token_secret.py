"""deploy/aws/terraform applied for real: the URL token ends up in Secrets Manager only.

``terraform apply`` runs the configuration with the machine's mirrored AWS provider against
moto's server, a mock of the AWS APIs on loopback (AWS can not run offline; moto is the one
mock used here), started in a process of its own with the AWS managed policies loaded. Then:
the token is in the secret and nowhere in the state, the saved plan or the function's
configuration, whose environment holds the secret's ARN; the role may read that secret only;
the Lambda adapter, given the function's environment, reads the token from the secret and
answers 200 and 401 by it; and a rotation (two tokens, a new token version) rewrites the
secret and the function's description, so that new execution environments read it again.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import zipfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from statefun_faas.adapters.aws_lambda import lambda_handler
from tests.adapters.conformance import COUNTER_OK, FUNCTIONS
from tests.adapters.lambda_events import event_for, unpack
from tests.deploy.templates import DEPLOY

REGION = "eu-west-1"
FIRST = "first-token-0123456789abcdef"
SECOND = "second-token-fedcba9876543210"
SERVICES = ("iam", "lambda", "logs", "secretsmanager", "sts")
MOTO = (
    "import logging, sys, time\n"
    "logging.getLogger('werkzeug').setLevel(logging.ERROR)\n"
    "from moto.server import ThreadedMotoServer\n"
    "server = ThreadedMotoServer(ip_address='127.0.0.1', port=0, verbose=False)\n"
    "server.start()\n"
    "print(server.get_host_and_port()[1], flush=True)\n"
    "sys.stdin.read()  # until the test ends\n"
)
pytestmark = pytest.mark.slow  # terraform init and two applies: about a minute


def _aws_mirror() -> Path | None:
    """A local provider mirror holding hashicorp/aws (the folder above registry.terraform.io)."""
    roots = [os.environ.get("TF_PLUGIN_MIRROR", ""), "/opt/tf-plugins", "/usr/local/share/terraform/plugins"]
    roots.append(str(Path.home() / ".terraform.d" / "plugins"))
    for root in filter(None, roots):
        if (Path(root) / "registry.terraform.io" / "hashicorp" / "aws").is_dir():
            return Path(root)
    return None


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    environment = {**os.environ, "MOTO_IAM_LOAD_MANAGED_POLICIES": "true"}  # AWSLambdaBasicExecutionRole
    with subprocess.Popen(
        [sys.executable, "-c", MOTO], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=environment, text=True
    ) as server:
        assert server.stdout is not None
        port = server.stdout.readline().strip()
        try:
            assert port.isdigit(), "moto's server did not start"
            yield f"http://127.0.0.1:{port}"
        finally:
            server.kill()


@pytest.fixture(scope="module")
def configuration(tmp_path_factory: pytest.TempPathFactory, moto_endpoint: str) -> Path:
    """deploy/aws/terraform pointed at moto and at the mirrored provider, initialised."""
    mirror = _aws_mirror()
    if shutil.which("terraform") is None or mirror is None:
        pytest.skip("needs terraform and a local mirror of the hashicorp/aws provider")
    folder = tmp_path_factory.mktemp("terraform")
    for path in (DEPLOY / "aws" / "terraform").glob("*.tf"):
        if path.name != "function_url_permission.tf":  # provider 6.x only; scripts/lint-deploy does the same
            shutil.copy(path, folder)
    version = sorted((mirror / "registry.terraform.io" / "hashicorp" / "aws").iterdir())[-1].name
    endpoints = "\n".join(f'    {service} = "{moto_endpoint}"' for service in SERVICES)
    (folder / "provider_override.tf").write_text(
        'terraform {\n  required_providers {\n    aws = {\n      source  = "hashicorp/aws"\n'
        f'      version = "= {version}"\n    }}\n  }}\n}}\n\n'
        'provider "aws" {\n  access_key = "testing"\n  secret_key = "testing"\n'
        "  skip_credentials_validation = true\n  skip_requesting_account_id = true\n  skip_metadata_api_check = true\n"
        f"  endpoints {{\n{endpoints}\n  }}\n}}\n",
        encoding="utf-8",
    )
    with zipfile.ZipFile(folder / "lambda.zip", "w") as package:
        package.writestr("statefun_handler.py", "handler = None\n")
    _terraform(folder, "init", "-backend=false", f"-plugin-dir={mirror}")
    return folder


def _terraform(folder: Path, *args: str) -> str:
    environment = {
        **os.environ,
        "CHECKPOINT_DISABLE": "1",
        "TF_IN_AUTOMATION": "1",
        "TF_INPUT": "0",
        "TF_CLI_CONFIG_FILE": os.devnull,
        "TF_VAR_region": REGION,
        "TF_VAR_package_zip": "lambda.zip",
    }
    command = ["terraform", args[0], "-no-color", *args[1:]]
    done = subprocess.run(command, cwd=folder, env=environment, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, f"terraform {args[0]}:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def _apply(folder: Path, token: str, version: int) -> None:
    variables = [f"-var=statefun_token={token}", f"-var=statefun_token_version={version}"]
    _terraform(folder, "plan", *variables, "-out=saved.plan")
    with zipfile.ZipFile(folder / "saved.plan") as plan:  # a saved plan is a zip of the plan and its inputs
        for name in plan.namelist():
            assert token.split(",")[0].encode() not in plan.read(name), f"the token is in the saved plan's {name}"
    _terraform(folder, "apply", "-auto-approve", *variables)  # ephemeral values are given again, not saved


def _client(service: str, endpoint: str) -> Any:
    session = boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    return session.client(service, endpoint_url=endpoint)  # type: ignore[call-overload]


def _deployed(endpoint: str) -> dict[str, Any]:
    configuration: dict[str, Any] = _client("lambda", endpoint).get_function_configuration(
        FunctionName="statefun-functions"
    )
    return configuration


def _cold_start(endpoint: str, monkeypatch: pytest.MonkeyPatch, variables: dict[str, str]) -> list[int]:
    """A new execution environment with the deployed function's variables: its answers to FIRST, SECOND, none."""
    monkeypatch.delenv("STATEFUN_FAAS_TOKENS", raising=False)
    for name, value in {**variables, "AWS_REGION": REGION, "AWS_ENDPOINT_URL": endpoint}.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    handler = lambda_handler(FUNCTIONS)
    answers = []
    for query in (f"token={FIRST}", f"token={SECOND}", ""):
        answers.append(unpack(handler(event_for("function_url", "POST", "/statefun", query, COUNTER_OK), None))[0])
    return answers


def test_the_token_is_in_the_secret_only_and_rotates(
    configuration: Path, moto_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    _apply(configuration, FIRST, 1)
    state = (configuration / "terraform.tfstate").read_text("utf-8")
    assert FIRST not in state
    function = _deployed(moto_endpoint)
    variables = function["Environment"]["Variables"]
    arn = json.loads(_terraform(configuration, "output", "-json"))["token_secret_arn"]["value"]
    assert variables == {"STATEFUN_FAAS_TOKENS_SECRET": arn}
    assert FIRST not in json.dumps(function)
    assert _client("secretsmanager", moto_endpoint).get_secret_value(SecretId=arn)["SecretString"] == FIRST
    iam = _client("iam", moto_endpoint)
    role = function["Role"].rsplit("/", 1)[1]
    (policy,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    (statement,) = iam.get_role_policy(RoleName=role, PolicyName=policy)["PolicyDocument"]["Statement"]
    assert (statement["Action"], statement["Resource"]) == ("secretsmanager:GetSecretValue", arn)
    assert _cold_start(moto_endpoint, monkeypatch, variables) == [200, 401, 401]

    _apply(configuration, f"{FIRST},{SECOND}", 2)  # rotating: both tokens, a new version
    state = (configuration / "terraform.tfstate").read_text("utf-8")
    assert FIRST not in state
    assert SECOND not in state
    rotated = _deployed(moto_endpoint)
    assert rotated["Environment"]["Variables"] == variables  # the same reference ...
    assert rotated["Description"].endswith("URL tokens version 2")  # ... in a configuration that changed
    assert _cold_start(moto_endpoint, monkeypatch, variables) == [200, 200, 401]
