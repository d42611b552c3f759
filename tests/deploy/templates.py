"""The deploy templates read as data: Terraform through python-hcl2, CloudFormation through tests.deploy.cfn."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import hcl2

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
FIXTURES = Path(__file__).resolve().parent / "fixtures"
SAM_TEMPLATE = DEPLOY / "aws" / "template.yaml"
CFN_TEMPLATE = DEPLOY / "aws" / "cloudformation.yaml"
# Terraform configurations and the fixture of their `terraform output -json`.
TERRAFORM = {
    "aws/terraform": "terraform-output-aws.json",
    "gcp/terraform": "terraform-output-gcp.json",
    "gcp/cloudrun": "terraform-output-cloudrun.json",
    "azure/terraform": "terraform-output-azure.json",
}


def _label(name: str) -> str:
    return name.strip('"')  # python-hcl2 8 keeps the quotes of block labels


def terraform_blocks(folder: Path, kind: str) -> dict[str, Any]:
    """Blocks of one kind (``output``, ``variable``) of every .tf file in ``folder``, by label."""
    blocks: dict[str, Any] = {}
    for path in sorted(folder.glob("*.tf")):
        with path.open(encoding="utf-8") as handle:
            parsed = hcl2.load(handle)
        for block in parsed.get(kind, []):
            blocks.update({_label(name): body for name, body in block.items()})
    return blocks


def terraform_resources(path: Path) -> dict[tuple[str, str], Any]:
    """The resources of one .tf file, by (type, name)."""
    with path.open(encoding="utf-8") as handle:
        parsed = hcl2.load(handle)
    found: dict[tuple[str, str], Any] = {}
    for block in parsed.get("resource", []):
        for kind, named in block.items():
            for name, body in named.items():
                found[(_label(kind), _label(name))] = body
    return found


def unquote(value: Any) -> Any:
    """A python-hcl2 8 string value without its quotes."""
    return value.strip('"') if isinstance(value, str) else value


def fixture_json(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((FIXTURES / name).read_text(encoding="utf-8"))
    return loaded
