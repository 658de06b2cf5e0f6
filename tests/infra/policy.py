"""Which IAM permissions an AWS call needs, and whether a policy grants them.

A small evaluator for the policies of infra/template.yaml: Allow statements with
``Action`` and ``Resource`` patterns (``*`` and ``?``) and ``StringEquals``,
``StringLike`` and ``Bool`` conditions; nothing is allowed that no statement allows.
:func:`needs` maps each call byohpo makes to the permissions IAM checks for it; a call
it does not know fails the test, so a new call cannot slip past the policy unseen.
"""

from __future__ import annotations

import ast
import fnmatch
import json
import threading
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from botocore.client import BaseClient

REGION = "us-east-1"
ACCOUNT = "123456789012"
SAGEMAKER = "sagemaker.amazonaws.com"


@dataclass(frozen=True)
class Need:
    """One permission a call needs: an action on a resource, with the request's context."""

    action: str
    resource: str
    context: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Call:
    service: str
    operation: str
    params: Mapping[str, Any]


def document(value: Any) -> dict[str, Any]:
    """A policy document as read back from IAM (moto may return its Python repr)."""
    if isinstance(value, Mapping):
        return dict(value)
    try:
        return dict(json.loads(value))
    except ValueError:
        return dict(ast.literal_eval(value))


def _listify(value: Any) -> list[Any]:
    return [value] if isinstance(value, str) else list(value)


def _condition_holds(condition: Mapping[str, Any], context: Mapping[str, str]) -> bool:
    for operator, tests in condition.items():
        for key, expected in tests.items():
            if key not in context:
                return False
            given = context[key]
            values = [str(v) for v in _listify(expected)]
            if operator == "StringLike":
                ok = any(fnmatch.fnmatchcase(given, v) for v in values)
            elif operator in ("StringEquals", "Bool"):
                ok = given in values
            else:
                raise AssertionError(f"the evaluator does not know the operator {operator}")
            if not ok:
                return False
    return True


def allows(policy: Mapping[str, Any], need: Need) -> bool:
    """Whether the policy allows the need (and no statement of it denies it)."""
    allowed = False
    for statement in policy["Statement"]:
        actions = [a.lower() for a in _listify(statement.get("Action", []))]
        if not any(fnmatch.fnmatchcase(need.action.lower(), a) for a in actions):
            continue
        if not any(fnmatch.fnmatchcase(need.resource, r) for r in _listify(statement["Resource"])):
            continue
        if not _condition_holds(statement.get("Condition", {}), need.context):
            continue
        if statement["Effect"] == "Deny":
            return False
        allowed = True
    return allowed


def _s3(params: Mapping[str, Any]) -> str:
    return f"arn:aws:s3:::{params['Bucket']}/{params['Key']}"


def _job(params: Mapping[str, Any], name: str = "TrainingJobName") -> str:
    return f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/{str(params[name]).lower()}"


def _logs(params: Mapping[str, Any]) -> str:
    group = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{params['logGroupName']}"
    stream = params.get("logStreamName")
    return f"{group}:log-stream:{stream}" if stream else f"{group}:log-stream:"


def needs(call: Call) -> list[Need]:
    """The permissions IAM checks for one call (an AssertionError for an unknown call)."""
    p, op = call.params, f"{call.service}.{call.operation}"
    if call.service == "s3":
        bucket = f"arn:aws:s3:::{p.get('Bucket', '')}"
        if call.operation in ("GetObject", "HeadObject"):
            return [Need("s3:GetObject", _s3(p))]
        if call.operation in (
            "PutObject",
            "CreateMultipartUpload",
            "UploadPart",
            "CompleteMultipartUpload",
            "UploadPartCopy",
        ):
            return [Need("s3:PutObject", _s3(p))]
        if call.operation == "CopyObject":
            source = p["CopySource"]
            if isinstance(source, Mapping):
                source = f"{source['Bucket']}/{source['Key']}"
            return [Need("s3:GetObject", f"arn:aws:s3:::{source}"), Need("s3:PutObject", _s3(p))]
        if call.operation == "DeleteObject":
            return [Need("s3:DeleteObject", _s3(p))]
        if call.operation in ("ListObjectsV2", "ListObjects"):
            return [Need("s3:ListBucket", bucket, {"s3:prefix": str(p.get("Prefix", ""))})]
        if call.operation == "HeadBucket":
            return [Need("s3:ListBucket", bucket)]
    if call.service == "sagemaker":
        if call.operation == "CreateTrainingJob":
            found = [
                Need("sagemaker:CreateTrainingJob", _job(p)),
                Need("iam:PassRole", p["RoleArn"], {"iam:PassedToService": SAGEMAKER}),
            ]
            if p.get("Tags"):
                found.append(Need("sagemaker:AddTags", _job(p)))
            return found
        if call.operation in ("DescribeTrainingJob", "StopTrainingJob"):
            return [Need(f"sagemaker:{call.operation}", _job(p))]
        if call.operation in ("ListTrainingJobs", "Search"):
            return [Need(f"sagemaker:{call.operation}", "*")]
        if call.operation in ("DescribePipeline", "CreatePipeline", "UpdatePipeline"):
            arn = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:pipeline/{p['PipelineName'].lower()}"
            found = [Need(f"sagemaker:{call.operation}", arn)]
            if call.operation != "DescribePipeline":
                found.append(Need("iam:PassRole", p["RoleArn"], {"iam:PassedToService": SAGEMAKER}))
            if p.get("Tags"):
                found.append(Need("sagemaker:AddTags", arn))
            return found
    if call.service == "logs" and call.operation in ("GetLogEvents", "DescribeLogStreams"):
        return [Need(f"logs:{call.operation}", _logs(p))]
    if call.service == "scheduler":
        group = p.get("GroupName", "default")
        arn = f"arn:aws:scheduler:{REGION}:{ACCOUNT}:schedule/{group}/{p['Name']}"
        found = [Need(f"scheduler:{call.operation}", arn)]
        if "Target" in p:
            passed = {"iam:PassedToService": "scheduler.amazonaws.com"}
            found.append(Need("iam:PassRole", p["Target"]["RoleArn"], passed))
        return found
    if call.service == "sqs" and call.operation in ("ReceiveMessage", "DeleteMessageBatch"):
        account, name = str(p["QueueUrl"]).rstrip("/").split("/")[-2:]
        action = "sqs:ReceiveMessage" if call.operation == "ReceiveMessage" else "sqs:DeleteMessage"
        return [Need(action, f"arn:aws:sqs:{REGION}:{account}:{name}")]
    if op == "sts.GetCallerIdentity":
        return []  # needs no permission
    raise AssertionError(f"the policy test does not know what {op} needs: add it to needs()")


def action_of(counted: str) -> str:
    """The IAM action of a call as the fake counts it (``"s3.HeadObject"``, ``"Search"``)."""
    service, _, operation = counted.rpartition(".")
    service = {"": "sagemaker", "cloudwatch-logs": "logs"}.get(service, service)
    renamed = {"HeadObject": "GetObject", "HeadBucket": "ListBucket", "ListObjectsV2": "ListBucket"}
    return f"{service}:{renamed.get(operation, operation)}"


@contextmanager
def recorded_calls() -> Iterator[list[Call]]:
    """Every AWS call this thread makes in the block, as the caller asked for it.

    Calls made while another is being answered (the fake's own S3 transfers, inside
    CreateTrainingJob) and calls of other threads (the fake's job runner) are not the
    caller's and are left out.
    """
    calls: list[Call] = []
    original = BaseClient._make_api_call
    thread = threading.get_ident()
    depth = threading.local()

    def recording(client: BaseClient, operation: str, params: dict[str, Any]) -> Any:
        nested = getattr(depth, "value", 0)
        if threading.get_ident() == thread and nested == 0:
            service = client.meta.service_model.service_name
            calls.append(Call(service, operation, dict(params)))
        depth.value = nested + 1
        try:
            return original(client, operation, params)
        finally:
            depth.value = nested

    BaseClient._make_api_call = recording  # type: ignore[method-assign]
    try:
        yield calls
    finally:
        BaseClient._make_api_call = original  # type: ignore[method-assign]
