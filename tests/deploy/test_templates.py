"""The deploy templates: what the clouds need is there, and the names other parts rely on agree."""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import hcl2
import pytest
import yaml

from statefun_faas.deploy.outputs import STACK_URL_OUTPUT, TERRAFORM_AZURE_KEY_OUTPUT, TERRAFORM_TOKEN_OUTPUT
from statefun_faas.deploy.platforms import PLATFORMS
from tests.deploy.cfn import load_template, translate_sam
from tests.deploy.templates import (
    CFN_TEMPLATE,
    DEPLOY,
    FIXTURES,
    ROOT,
    SAM_TEMPLATE,
    TERRAFORM,
    fixture_json,
    terraform_blocks,
    terraform_resources,
    unquote,
)

AWS_TF = DEPLOY / "aws" / "terraform"
COMPOSE = DEPLOY / "statefun" / "docker-compose.yml"


def _of_type(template: dict[str, Any], kind: str) -> list[dict[str, Any]]:
    return [resource["Properties"] for resource in template["Resources"].values() if resource["Type"] == kind]


def _public_permissions(template: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {props["Action"]: props for props in _of_type(template, "AWS::Lambda::Permission")}


def _assert_public_function_url(template: dict[str, Any]) -> None:
    (url,) = _of_type(template, "AWS::Lambda::Url")
    assert url["AuthType"] == "NONE"
    permissions = _public_permissions(template)
    assert set(permissions) == {"lambda:InvokeFunctionUrl", "lambda:InvokeFunction"}
    assert permissions["lambda:InvokeFunctionUrl"]["FunctionUrlAuthType"] == "NONE"
    assert permissions["lambda:InvokeFunction"]["InvokedViaFunctionUrl"] is True
    assert all(props["Principal"] == "*" for props in permissions.values())


def test_translated_sam_template_grants_both_public_invoke_permissions() -> None:
    _assert_public_function_url(translate_sam(SAM_TEMPLATE))


def test_sam_auth_type_is_the_literal_none() -> None:
    # With a !Ref here SAM silently leaves both permissions out and the URL answers 403.
    (function,) = _of_type(load_template(SAM_TEMPLATE), "AWS::Serverless::Function")
    assert function["FunctionUrlConfig"] == {"AuthType": "NONE"}


def test_plain_cloudformation_grants_both_public_invoke_permissions() -> None:
    _assert_public_function_url(load_template(CFN_TEMPLATE))


def test_terraform_grants_invoke_via_function_url_which_needs_provider_6() -> None:
    resources = terraform_resources(AWS_TF / "function_url_permission.tf")
    permission = resources[("aws_lambda_permission", "invoke_via_function_url")]
    assert unquote(permission["action"]) == "lambda:InvokeFunction"
    assert unquote(permission["principal"]) == "*"
    assert permission["invoked_via_function_url"] is True
    url = terraform_resources(AWS_TF / "main.tf")[("aws_lambda_function_url", "statefun")]
    assert unquote(url["authorization_type"]) == "NONE"
    with (AWS_TF / "versions.tf").open(encoding="utf-8") as handle:
        (settings,) = hcl2.load(handle)["terraform"]
    assert unquote(settings["required_providers"][0]["aws"]["version"]) == ">= 6.29"


@pytest.mark.parametrize("template", [SAM_TEMPLATE, CFN_TEMPLATE])
def test_stack_outputs_fixture_has_exactly_the_declared_outputs(template: Path) -> None:
    declared = set(load_template(template)["Outputs"])
    assert declared == set(fixture_json("stack-outputs.json"))
    assert STACK_URL_OUTPUT in declared


@pytest.mark.parametrize(("folder", "fixture"), sorted(TERRAFORM.items()))
def test_terraform_output_fixture_has_exactly_the_declared_outputs(folder: str, fixture: str) -> None:
    declared = set(terraform_blocks(DEPLOY / folder, "output"))
    assert declared == set(fixture_json(fixture))
    assert "function_url" in declared


def test_local_terraform_config_declares_the_aws_outputs() -> None:
    assert set(terraform_blocks(FIXTURES / "terraform-local", "output")) == set(terraform_blocks(AWS_TF, "output"))


def test_credential_outputs_are_sensitive() -> None:
    assert terraform_blocks(AWS_TF, "output")[TERRAFORM_TOKEN_OUTPUT]["sensitive"] is True
    azure = terraform_blocks(DEPLOY / "azure" / "terraform", "output")
    assert azure[TERRAFORM_AZURE_KEY_OUTPUT]["sensitive"] is True


def test_every_terraform_file_parses() -> None:
    folders = {path.parent for path in DEPLOY.rglob("*.tf")}
    assert {folder.relative_to(DEPLOY).as_posix() for folder in folders} == set(TERRAFORM)
    for folder in folders:
        assert terraform_blocks(folder, "resource"), folder


def test_lambda_settings_agree_with_the_package_command() -> None:
    aws = PLATFORMS["aws"]
    runtime, handler = f"python{aws.python}", f"{aws.entry}.{aws.attribute}"
    (sam,) = _of_type(load_template(SAM_TEMPLATE), "AWS::Serverless::Function")
    (cfn,) = _of_type(load_template(CFN_TEMPLATE), "AWS::Lambda::Function")
    terraform = terraform_resources(AWS_TF / "main.tf")[("aws_lambda_function", "statefun")]
    for properties in (sam, cfn):
        assert (properties["Runtime"], properties["Handler"], properties["Architectures"]) == (
            runtime,
            handler,
            [aws.arches[0]],
        )
    assert (unquote(terraform["runtime"]), unquote(terraform["handler"])) == (runtime, handler)
    assert [unquote(arch) for arch in terraform["architectures"]] == [aws.arches[0]]


def test_gcp_and_azure_templates_run_the_python_the_package_command_builds_for() -> None:
    """The wheels in a package are for one Python: the template's runtime must be that one."""
    function = terraform_resources(DEPLOY / "gcp" / "terraform" / "main.tf")[
        ("google_cloudfunctions2_function", "statefun")
    ]
    (build,) = function["build_config"]
    assert unquote(build["runtime"]) == "python" + PLATFORMS["gcp"].python.replace(".", "")
    assert unquote(build["environment_variables"]["GOOGLE_VENDOR_PIP_DEPENDENCIES"]) == "vendor"
    assert unquote(build["entry_point"]) == "${var.entry_point}"
    assert unquote(terraform_blocks(DEPLOY / "gcp" / "terraform", "variable")["entry_point"]["default"]) == "statefun"
    azure = terraform_blocks(DEPLOY / "azure" / "terraform", "variable")["python_version"]
    assert unquote(azure["default"]) == PLATFORMS["azure"].python


def test_azure_route_is_the_adapters_default() -> None:
    from statefun_faas.adapters.azure import register

    route = terraform_blocks(DEPLOY / "azure" / "terraform", "variable")["route"]["default"]
    assert unquote(route) == inspect.signature(register).parameters["route"].default


def test_statefun_runtime_reads_the_module_configmap() -> None:
    for name in ("master.yaml", "worker.yaml"):
        documents = list(yaml.safe_load_all((DEPLOY / "statefun" / "kubernetes" / name).read_text("utf-8")))
        (deployment,) = [document for document in documents if document["kind"] == "Deployment"]
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["image"] == "apache/flink-statefun:3.3.0"
        volumes = {volume["name"]: volume for volume in pod["volumes"]}
        assert volumes["module"]["configMap"]["name"] == "statefun-module"  # --configmap-name's default
        mounts = {mount["name"]: mount["mountPath"] for mount in container["volumeMounts"]}
        assert mounts["module"] == "/opt/statefun/modules/remote"
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    for service in compose["services"].values():
        assert service["image"] == "apache/flink-statefun:3.3.0"
        assert service["volumes"][0].endswith(":/opt/statefun/modules/remote/module.yaml:ro")


def test_compose_mounts_the_module_yaml_the_docs_write() -> None:
    """The docs write module.yaml from the repository root (``-o module.yaml``) and then start the compose file,
    whose relative mount compose resolves from the compose file's own folder: both must name one file."""
    compose = yaml.safe_load(COMPOSE.read_text("utf-8"))
    mounted = set()
    for service in compose["services"].values():
        source = service["volumes"][0].rsplit(":", 2)[0]
        default = re.fullmatch(r"\$\{STATEFUN_MODULE_YAML:-([^}]+)\}", source)
        assert default, source
        mounted.add((COMPOSE.parent / default.group(1)).resolve())
    docs = [ROOT / "README.md", *ROOT.glob("docs/*.md"), *DEPLOY.rglob("*.md"), *ROOT.glob("examples/*/README.md")]
    written = {
        (ROOT / path).resolve()
        for doc in docs
        for path in re.findall(r"(?:-o|--output) (\S*module\.yaml)(?![\w.-])", doc.read_text("utf-8"))
    }
    assert mounted == written == {ROOT / "module.yaml"}
