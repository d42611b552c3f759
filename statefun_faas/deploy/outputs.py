"""Where a deployed function's URL (and its credentials) come from.

* CloudFormation / SAM stack outputs, read with boto3 ``describe_stacks``;
* ``terraform output -json`` text (a file, or stdin).

The output names are the ones the templates under ``deploy/`` declare (``OUTPUTS``).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from statefun_faas.deploy import DeployError

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

# CloudFormation/SAM output key of the function URL (deploy/aws/template.yaml, cloudformation.yaml).
STACK_URL_OUTPUT = "StatefunFunctionUrl"
# Terraform output names (deploy/*/terraform, deploy/gcp/cloudrun).
TERRAFORM_URL_OUTPUT = "function_url"
TERRAFORM_TOKEN_OUTPUT = "statefun_token"
TERRAFORM_AZURE_KEY_OUTPUT = "function_key"


@dataclass(frozen=True)
class Deployed:
    """A deployed function's base URL, and the token or Azure key when the outputs carry one."""

    url: str
    token: str | None = None
    azure_code: str | None = None


def from_stack(stack: str, *, output_key: str, region: str | None, endpoint_url: str | None) -> Deployed:
    """The URL from a CloudFormation stack's outputs (the token is a NoEcho parameter: pass it yourself)."""
    outputs = _stack_outputs(stack, region, endpoint_url)
    value = outputs.get(output_key)
    if value is None:
        found = ", ".join(sorted(outputs)) or "none"
        raise DeployError(
            f"stack {stack!r} has no output {output_key!r} (outputs: {found}); "
            f"deploy deploy/aws/template.yaml or name the output with --output-key"
        )
    return Deployed(_non_empty(value, f"output {output_key!r} of stack {stack!r}"))


def _stack_outputs(stack: str, region: str | None, endpoint_url: str | None) -> dict[str, str]:
    client = _cloudformation(region, endpoint_url)
    import botocore.exceptions  # installed with boto3, which _cloudformation found

    try:
        stacks = client.describe_stacks(StackName=stack)["Stacks"]
    except botocore.exceptions.NoCredentialsError:
        raise DeployError("no AWS credentials: configure a profile or set AWS_ACCESS_KEY_ID") from None
    except botocore.exceptions.ClientError as error:
        message = error.response.get("Error", {}).get("Message", str(error))
        if "does not exist" in message:
            where = client.meta.region_name
            raise DeployError(f"CloudFormation stack {stack!r} not found in region {where}: {message}") from None
        raise DeployError(f"describing stack {stack!r} failed: {message}") from None
    if not stacks:
        raise DeployError(f"CloudFormation stack {stack!r} not found")
    return {item["OutputKey"]: item.get("OutputValue", "") for item in stacks[0].get("Outputs", [])}


def _cloudformation(region: str | None, endpoint_url: str | None) -> CloudFormationClient:
    try:
        import boto3
        import botocore.exceptions
    except ImportError:
        raise DeployError(
            "module stack reads the stack's outputs with boto3, which is not installed: "
            "pip install 'statefun-faas[boto3]'"
        ) from None
    try:
        return boto3.client("cloudformation", region_name=region, endpoint_url=endpoint_url)
    except botocore.exceptions.NoRegionError:
        raise DeployError("no AWS region: pass --region or set AWS_REGION") from None


def from_terraform(text: str, *, url_output: str, source: str) -> Deployed:
    """The URL, and the token or Azure key when present, from ``terraform output -json`` text."""
    outputs = _terraform_outputs(text, source)
    if url_output not in outputs:
        found = ", ".join(sorted(outputs)) or "none; has `terraform apply` run in that folder?"
        raise DeployError(
            f"{source}: no terraform output {url_output!r} (outputs: {found}); name it with --output-name"
        )
    url = _non_empty(_value(outputs, url_output, source), f"terraform output {url_output!r}")
    token = _optional(outputs, TERRAFORM_TOKEN_OUTPUT, source)
    code = _optional(outputs, TERRAFORM_AZURE_KEY_OUTPUT, source)
    return Deployed(url, token=token, azure_code=code)


def _terraform_outputs(text: str, source: str) -> dict[str, Any]:
    try:
        outputs = json.loads(text)
    except json.JSONDecodeError as error:
        raise DeployError(f"{source}: not the JSON of `terraform output -json` ({error})") from None
    if not isinstance(outputs, dict):
        raise DeployError(
            f"{source}: expected the object `terraform output -json` prints, got {type(outputs).__name__}"
        )
    return outputs


def _value(outputs: dict[str, Any], name: str, source: str) -> str:
    entry = outputs[name]
    value = entry.get("value") if isinstance(entry, dict) else None
    if not isinstance(value, str):
        raise DeployError(f"{source}: terraform output {name!r} is not a string with a 'value'")
    return value


def _optional(outputs: dict[str, Any], name: str, source: str) -> str | None:
    if name not in outputs:
        return None
    return _value(outputs, name, source) or None


def _non_empty(value: str, what: str) -> str:
    if not value.strip():
        raise DeployError(f"{what} is empty; has the deployment finished?")
    return value.strip()
