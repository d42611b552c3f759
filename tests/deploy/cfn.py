"""CloudFormation/SAM templates as plain data, and the SAM template translated to CloudFormation.

Also a script, run by scripts/lint-deploy with the aws-sam-cli tool environment's Python:
``python tests/deploy/cfn.py TEMPLATE`` prints the translated template as JSON for cfn-lint.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import yaml

# A local CodeUri can not be translated: the translator wants the S3 location `sam deploy` uploads to.
PLACEHOLDER_CODE_URI = "s3://statefun-faas-placeholder/lambda.zip"


class _Loader(yaml.SafeLoader):
    """YAML with CloudFormation's short-form functions (!Ref, !GetAtt, !Sub, ...) as their long forms."""


def _function(loader: _Loader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Ref":
        return {"Ref": value}
    if suffix == "Condition":
        return {"Condition": value}
    if suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{suffix}": value}


_Loader.add_multi_constructor("!", _function)


def load_template(path: str | os.PathLike[str]) -> dict[str, Any]:
    """A CloudFormation or SAM template file as a dict, intrinsic functions in long form."""
    loaded: dict[str, Any] = yaml.load(Path(path).read_text(encoding="utf-8"), Loader=_Loader)
    return loaded


class _NoManagedPolicies:
    """The translator asks AWS for managed policy ARNs only when a template names policies by name."""

    def load(self) -> dict[str, str]:
        return {}


def translate_sam(path: str | os.PathLike[str]) -> dict[str, Any]:
    """The CloudFormation template that SAM's transform makes of the SAM template at ``path``."""
    from samtranslator.translator.transform import transform

    template = load_template(path)
    for resource in template.get("Resources", {}).values():
        properties = resource.get("Properties", {})
        if resource.get("Type") == "AWS::Serverless::Function" and not str(properties.get("CodeUri")).startswith("s3"):
            properties["CodeUri"] = PLACEHOLDER_CODE_URI
    os.environ.setdefault("AWS_DEFAULT_REGION", "eu-west-1")
    translated: dict[str, Any] = transform(template, {}, _NoManagedPolicies())
    return translated


if __name__ == "__main__":
    json.dump(translate_sam(sys.argv[1]), sys.stdout, indent=2, sort_keys=True)
    print()
