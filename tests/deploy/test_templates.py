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
    azure = terraform_blocks(DEPLOY / "azure" / "terraform", "output")
    assert azure[TERRAFORM_AZURE_KEY_OUTPUT]["sensitive"] is True
    for folder in TERRAFORM:  # the URL tokens are in a secret store, never in an output (outputs are in the state)
        assert TERRAFORM_TOKEN_OUTPUT not in terraform_blocks(DEPLOY / folder, "output"), folder


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


# -- secrets: every template hands the function a reference to the URL tokens, never their value --------------

SECRET_REFERENCE_ENV = "STATEFUN_FAAS_TOKENS_SECRET"
#: Ways to put a secret's value where it does not belong: a CloudFormation dynamic reference
#: resolves into the function's configuration, a data source reads the value into the state.
VALUE_READERS = re.compile(
    r"\{\{resolve:|data \"(aws_secretsmanager_secret_version|aws_ssm_parameter|azurerm_key_vault_secret"
    r"|google_secret_manager_secret_version)\""
)


def test_no_template_resolves_a_secret_value() -> None:
    files = [path for path in DEPLOY.rglob("*") if path.suffix in (".yaml", ".yml", ".tf", ".json")]
    assert {path.name for path in files} >= {"template.yaml", "cloudformation.yaml", "main.tf"}
    for path in files:
        assert not VALUE_READERS.search(path.read_text("utf-8")), path


def _references(value: Any) -> list[str]:
    """Every !Ref / GetAtt target inside ``value``."""
    if isinstance(value, dict):
        found = [value["Ref"]] if "Ref" in value else []
        if "Fn::GetAtt" in value:
            found.append(value["Fn::GetAtt"][0])
        return found + [name for item in value.values() for name in _references(item)]
    if isinstance(value, list):
        return [name for item in value for name in _references(item)]
    return []


def _secret_reads(template: dict[str, Any], role: str) -> list[Any]:
    """The resources ``role`` may call secretsmanager:GetSecretValue on, and any wider grant of secrets."""
    grants = []
    for policy in template["Resources"][role]["Properties"].get("Policies", []):
        for statement in policy["PolicyDocument"]["Statement"]:
            actions = statement["Action"] if isinstance(statement["Action"], list) else [statement["Action"]]
            if any(action.startswith("secretsmanager:") for action in actions):
                assert actions == ["secretsmanager:GetSecretValue"], statement
                grants.append(statement["Resource"])
    return grants


@pytest.mark.parametrize("template", [SAM_TEMPLATE, CFN_TEMPLATE], ids=["sam", "cloudformation"])
def test_cloudformation_gives_the_function_the_secrets_arn_and_leave_to_read_that_secret_only(template: Path) -> None:
    translated = translate_sam(template) if template == SAM_TEMPLATE else load_template(template)
    (function,) = _of_type(translated, "AWS::Lambda::Function")
    variables = function["Environment"]["Variables"]
    assert set(variables) == {SECRET_REFERENCE_ENV}
    arn = {"Fn::If": ["TokenFromSecret", {"Ref": "StatefunTokenSecretArn"}, {"Ref": "StatefunTokenSecret"}]}
    assert variables[SECRET_REFERENCE_ENV] == arn
    assert _secret_reads(translated, function["Role"]["Fn::GetAtt"][0]) == [arn]
    # The token parameter (NoEcho) goes into the stack's own secret and nowhere else.
    secret = translated["Resources"]["StatefunTokenSecret"]
    assert (secret["Type"], secret["Condition"]) == ("AWS::SecretsManager::Secret", "TokenSecretOfTheStack")
    assert secret["Properties"]["SecretString"] == {"Ref": "StatefunToken"}
    uses = [
        (part, name)
        for part in ("Resources", "Outputs")
        for name, block in translated[part].items()
        if "StatefunToken" in _references(block)
    ]
    assert uses == [("Resources", "StatefunTokenSecret")]
    assert translated["Outputs"]["StatefunTokenSecret"]["Value"] == arn


def _terraform(folder: Path, kind: str) -> dict[tuple[str, str], Any]:
    """Every block of ``kind`` (resource, data) of every .tf file in ``folder``, by (type, name)."""
    found: dict[tuple[str, str], Any] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            for block in hcl2.load(handle).get(kind, []):
                for kind_name, named in block.items():
                    found.update({(unquote(kind_name), unquote(name)): body for name, body in named.items()})
    return found


def test_terraform_lambda_gets_the_secrets_arn_and_leave_to_read_that_secret_only() -> None:
    resources = _terraform(AWS_TF, "resource")
    function = resources[("aws_lambda_function", "statefun")]
    (environment,) = function["environment"]
    assert environment["variables"] == {SECRET_REFERENCE_ENV: "${local.token_secret_arn}"}
    # A new token version changes the function's configuration: new execution environments read the secret.
    assert "${var.statefun_token_version}" in function["description"]
    (statement,) = _terraform(AWS_TF, "data")[("aws_iam_policy_document", "read_token")]["statement"]
    assert (statement["actions"], statement["resources"]) == (
        ['"secretsmanager:GetSecretValue"'],
        ["${local.token_secret_arn}"],
    )
    policy = resources[("aws_iam_role_policy", "read_token")]
    assert (policy["role"], policy["policy"]) == (
        "${aws_iam_role.statefun.id}",
        "${data.aws_iam_policy_document.read_token.json}",
    )


def test_terraform_writes_the_token_where_the_state_does_not_keep_it() -> None:
    token = terraform_blocks(AWS_TF, "variable")["statefun_token"]
    assert (token["ephemeral"], token["sensitive"]) == (True, True)  # in neither the plan nor the state
    version = _terraform(AWS_TF, "resource")[("aws_secretsmanager_secret_version", "token")]
    assert version["secret_string_wo"] == "${var.statefun_token}"  # write-only: never read back into the state
    assert version["secret_string_wo_version"] == "${var.statefun_token_version}"
    read = re.compile(r"var\.statefun_token\b(?!_)")
    for path in AWS_TF.glob("*.tf"):
        uses = read.findall(path.read_text("utf-8"))
        expected = {"main.tf": 1, "variables.tf": 1}.get(path.name, 0)  # secret_string_wo; the validation
        assert len(uses) == expected, path.name
    with (AWS_TF / "versions.tf").open(encoding="utf-8") as handle:
        (settings,) = hcl2.load(handle)["terraform"]
    assert unquote(settings["required_version"]) == ">= 1.11"  # ephemeral variables, write-only arguments


def test_azure_setting_is_a_key_vault_reference_read_by_an_identity_allowed_that_secret_only() -> None:
    folder = DEPLOY / "azure" / "terraform"
    with (folder / "main.tf").open(encoding="utf-8") as handle:
        (local,) = hcl2.load(handle)["locals"]
    reference = local["token_setting"]
    assert reference.startswith("${local.token_from_key_vault ? {")
    assert 'STATEFUN_FAAS_TOKENS = "@Microsoft.KeyVault(VaultName=${basename(var.token_key_vault_id)}' in reference
    assert "SecretName=${var.token_secret_name})" in reference
    resources = _terraform(folder, "resource")
    app = resources[("azurerm_linux_function_app", "statefun")]
    assert app["app_settings"].endswith(", local.token_setting)}")
    assert "? azurerm_user_assigned_identity.token_reader[0].id :" in app["key_vault_reference_identity_id"]
    role = resources[("azurerm_role_assignment", "token_reader")]
    assert unquote(role["role_definition_name"]) == "Key Vault Secrets User"
    assert unquote(role["scope"]) == "${var.token_key_vault_id}/secrets/${var.token_secret_name}"
    assert role["principal_id"] == "${azurerm_user_assigned_identity.token_reader[0].principal_id}"
    assert "${azurerm_role_assignment.token_reader}" in app["depends_on"]  # resolved when the app starts


@pytest.mark.parametrize("folder", ["gcp/terraform", "gcp/cloudrun"])
def test_google_gives_the_token_from_secret_manager_to_an_account_allowed_that_secret_only(folder: str) -> None:
    resources = _terraform(DEPLOY / folder, "resource")
    text = (DEPLOY / folder / "main.tf").read_text("utf-8")
    if folder == "gcp/terraform":
        config = resources[("google_cloudfunctions2_function", "statefun")]["service_config"][0]
        assert "environment_variables" not in config
        (variable,) = config["secret_environment_variables"]
        assert (unquote(variable["key"]), variable["secret"]) == ("STATEFUN_FAAS_TOKENS", "${var.token_secret_id}")
        account = "${google_service_account.function.email}"
    else:
        (container,) = resources[("google_cloud_run_v2_service", "statefun")]["template"][0]["containers"]
        (variable,) = container["env"]
        assert unquote(variable["name"]) == "STATEFUN_FAAS_TOKENS"
        assert "value" not in variable
        (source,) = variable["value_source"]
        assert source["secret_key_ref"][0]["secret"] == "${var.token_secret_id}"
        account = "${google_service_account.service.email}"
    reader = resources[("google_secret_manager_secret_iam_member", "token_reader")]
    assert (reader["secret_id"], unquote(reader["role"])) == (
        "${var.token_secret_id}",
        "roles/secretmanager.secretAccessor",
    )
    assert unquote(reader["member"]) == f"serviceAccount:{account}"
    assert "STATEFUN_FAAS_TOKENS" in text
