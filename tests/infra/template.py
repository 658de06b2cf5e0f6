"""Reading infra/template.yaml as CloudFormation does, and the IAM statements in it."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

TEMPLATE = Path(__file__).resolve().parents[2] / "infra" / "template.yaml"


class _CloudFormationLoader(yaml.SafeLoader):
    """YAML with CloudFormation's short forms (``!Sub``, ``!GetAtt``, ...) as long forms."""


def _short_form(loader: yaml.SafeLoader, suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if suffix == "Ref" else f"Fn::{suffix}"
    if isinstance(node, yaml.ScalarNode):
        value: Any = loader.construct_scalar(node)
        if suffix == "GetAtt":
            value = str(value).split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    if suffix == "Condition":
        return {"Condition": value}
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def load_template(path: Path = TEMPLATE) -> dict[str, Any]:
    """The template as a dict in CloudFormation's long (JSON) form."""
    loaded = yaml.load(path.read_text(), Loader=_CloudFormationLoader)
    assert isinstance(loaded, dict)
    return loaded


@dataclass(frozen=True)
class Statement:
    """One IAM policy statement, and where it is."""

    where: str
    body: dict[str, Any]

    @property
    def effect(self) -> str:
        return str(self.body.get("Effect"))

    @property
    def actions(self) -> list[str]:
        action = self.body.get("Action", [])
        return [action] if isinstance(action, str) else list(action)

    @property
    def resources(self) -> list[Any]:
        resource = self.body.get("Resource", [])
        return [resource] if isinstance(resource, str | dict) else list(resource)


def _documents(name: str, resource: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    properties = resource.get("Properties", {})
    kind = resource["Type"]
    if kind == "AWS::IAM::Role":
        yield f"{name} (trust)", properties["AssumeRolePolicyDocument"]
        for policy in properties.get("Policies", []):
            yield f"{name}/{policy['PolicyName']}", policy["PolicyDocument"]
    elif kind in (
        "AWS::IAM::ManagedPolicy",
        "AWS::IAM::Policy",
        "AWS::S3::BucketPolicy",
        "AWS::SQS::QueuePolicy",
    ):
        yield name, properties["PolicyDocument"]


def statements(template: dict[str, Any], *, trust: bool = False) -> list[Statement]:
    """Every statement of every policy in the template (trust policies only if asked)."""
    found = []
    for name, resource in template["Resources"].items():
        for where, document in _documents(name, resource):
            if where.endswith("(trust)") != trust:
                continue
            for index, body in enumerate(document["Statement"]):
                label = body.get("Sid", f"#{index}")
                found.append(Statement(f"{where}: {label}", body))
    return found


UNSUPPORTED_BY_MOTO = {
    "AWS::S3::BucketPolicy": "moto's CloudFormation cannot make it; test_template reads "
    "its one statement (plain HTTP refused)",
    "AWS::SQS::QueuePolicy": "moto's CloudFormation cannot make it (and moto's EventBridge "
    "delivers without it); test_template reads its one statement (only the study's rule sends)",
    "AWS::SageMaker::Pipeline": "moto's CloudFormation cannot make it; byohpo pipeline deploy "
    "makes the pipeline through moto's SageMaker (test_stack)",
    "AWS::Scheduler::Schedule": "moto's CloudFormation cannot make it; byohpo pipeline deploy "
    "makes the schedule through moto's EventBridge Scheduler (test_stack)",
}
"""Resource types left out of the moto deployment, and where they are checked instead."""


def deploy_into_moto(study_name: str, region: str = "us-east-1") -> dict[str, str]:
    """Deploy the template (less what moto lacks) into the active moto; the stack's outputs."""
    import boto3

    template = load_template()
    template["Resources"] = {
        name: resource
        for name, resource in template["Resources"].items()
        if resource["Type"] not in UNSUPPORTED_BY_MOTO
    }
    stack = f"byohpo-{study_name}"
    cloudformation = boto3.client("cloudformation", region_name=region)
    cloudformation.create_stack(
        StackName=stack,
        TemplateBody=json.dumps(template),
        Capabilities=["CAPABILITY_NAMED_IAM"],
        Parameters=[{"ParameterKey": "StudyName", "ParameterValue": study_name}],
    )
    (described,) = cloudformation.describe_stacks(StackName=stack)["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE", described.get("StackStatusReason")
    return {o["OutputKey"]: o["OutputValue"] for o in described["Outputs"]}
