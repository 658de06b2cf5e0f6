"""infra/template.yaml grants least privilege: every IAM statement, read one by one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.infra.template import TEMPLATE, Statement, load_template, statements

README = TEMPLATE.parent / "README.md"

STAR_RESOURCE_EXCEPTIONS = {
    "sagemaker:ListTrainingJobs": "ListTrainingJobs names no resource: IAM accepts only '*'",
    "ecr:GetAuthorizationToken": "the registry token is account-wide: IAM accepts only '*'",
    "cloudwatch:PutMetricData": "PutMetricData names no resource: '*', held to its namespace",
}
"""The only actions allowed on ``"Resource": "*"``, each because the API offers nothing
narrower. infra/README.md lists the same, with the same reasons."""

OWN_RESOURCES = ("${StudyName}", "${StudyBucket.Arn}", "${TrainingImageRepository}")
SAGEMAKER_LOG_GROUPS = (
    ":log-group:/aws/sagemaker/TrainingJobs",
    ":log-group:/aws/sagemaker/ProcessingJobs",
)
"""Log groups SageMaker writes every job's logs to: creating them and finding streams in them
(DescribeLogStreams takes a log group, not a stream) cannot be narrowed to one study."""
PIPELINE_STEP_JOBS = (
    ":processing-job/pipelines-*",
    ":log-group:/aws/sagemaker/ProcessingJobs:log-stream:pipelines-*",
)
"""SageMaker Pipelines names a step's job ``pipelines-<execution id>-<step>-<suffix>``: no
study in it. What such a job may do is bounded by the one role it may be given."""


@pytest.fixture(scope="module")
def template() -> dict[str, Any]:
    return load_template()


def allow_statements(template: dict[str, Any]) -> list[Statement]:
    return [s for s in statements(template) if s.effect == "Allow"]


def test_no_statement_allows_every_action_of_a_service(template: dict[str, Any]) -> None:
    wide = [
        (s.where, action)
        for s in allow_statements(template)
        for action in s.actions
        if "*" in action or "?" in action
    ]
    assert wide == [], "Allow statements must list their actions one by one"


def test_resource_star_only_where_the_api_takes_no_resource(template: dict[str, Any]) -> None:
    starred = [s for s in allow_statements(template) if "*" in s.resources]
    assert starred, "the template is expected to need the listed exceptions"
    for statement in starred:
        assert statement.resources == ["*"], statement.where
        unexcused = [a for a in statement.actions if a not in STAR_RESOURCE_EXCEPTIONS]
        assert unexcused == [], f"{statement.where}: {unexcused} on '*' (not an exception)"
    used = {a for s in starred for a in s.actions}
    assert used == set(STAR_RESOURCE_EXCEPTIONS), "an exception is listed but no longer needed"


def test_the_exceptions_are_listed_with_their_reasons_in_the_readme() -> None:
    text = README.read_text()
    section = text.split("## Wildcards", 1)[1].split("\n## ", 1)[0]
    for action in STAR_RESOURCE_EXCEPTIONS:
        assert f"`{action}`" in section, f"infra/README.md must list {action} and why"


def test_put_metric_data_is_held_to_sagemaker_s_namespaces(template: dict[str, Any]) -> None:
    for statement in allow_statements(template):
        if "cloudwatch:PutMetricData" in statement.actions:
            namespace = statement.body["Condition"]["StringEquals"]["cloudwatch:namespace"]
            assert namespace.startswith("/aws/sagemaker/"), statement.where


def _resource_is_the_stack_s(resource: Any, template: dict[str, Any]) -> bool:
    if isinstance(resource, str):
        return resource == "*"
    if "Fn::Sub" in resource:
        text = resource["Fn::Sub"]
        shared = any(text.endswith((g, f"{g}:*")) for g in SAGEMAKER_LOG_GROUPS)
        shared = shared or text.endswith(PIPELINE_STEP_JOBS)
        return shared or any(own in text for own in OWN_RESOURCES)
    if "Fn::GetAtt" in resource:
        return resource["Fn::GetAtt"][0] in template["Resources"]
    if "Fn::If" in resource:
        _, *branches = resource["Fn::If"]
        return all(_resource_is_the_stack_s(b, template) for b in branches)
    if "Ref" in resource:
        return resource["Ref"] in template["Resources"] or resource["Ref"] in template.get(
            "Parameters", {}
        )
    return False


def test_every_other_resource_is_the_study_s_own(template: dict[str, Any]) -> None:
    for statement in allow_statements(template):
        for resource in statement.resources:
            assert _resource_is_the_stack_s(resource, template), (statement.where, resource)


def test_pass_role_passes_one_role_to_one_service(template: dict[str, Any]) -> None:
    passing = [s for s in allow_statements(template) if "iam:PassRole" in s.actions]
    assert len(passing) == 4  # training role, orchestrator role, pipeline and scheduler roles
    for statement in passing:
        assert statement.actions == ["iam:PassRole"], statement.where
        (resource,) = statement.resources
        assert "Fn::GetAtt" in resource, statement.where
        service = statement.body["Condition"]["StringEquals"]["iam:PassedToService"]
        assert service in ("sagemaker.amazonaws.com", "scheduler.amazonaws.com")


def test_training_jobs_are_those_of_the_study(template: dict[str, Any]) -> None:
    orchestrator = [s for s in allow_statements(template) if s.where.startswith("Orchestrator")]
    (jobs,) = [s for s in orchestrator if "sagemaker:CreateTrainingJob" in s.actions]
    assert set(jobs.actions) == {
        "sagemaker:CreateTrainingJob",
        "sagemaker:DescribeTrainingJob",
        "sagemaker:StopTrainingJob",
        "sagemaker:AddTags",
    }
    assert jobs.resources[0]["Fn::Sub"].endswith(":training-job/${StudyName}-*")


def test_each_role_is_assumed_by_one_service_of_this_account(template: dict[str, Any]) -> None:
    trusts = statements(template, trust=True)
    assert len(trusts) == 4
    for trust in trusts:
        assert trust.actions == ["sts:AssumeRole"]
        assert set(trust.body["Principal"]) == {"Service"}
        assert isinstance(trust.body["Principal"]["Service"], str), trust.where
        condition = trust.body["Condition"]["StringEquals"]["aws:SourceAccount"]
        assert condition == {"Ref": "AWS::AccountId"}, trust.where


def test_deny_wildcards_serve_only_to_refuse_plain_http(template: dict[str, Any]) -> None:
    denies = [s for s in statements(template) if s.effect == "Deny"]
    assert [s.where for s in denies] == ["StudyBucketPolicy: DenyPlainHttp"]
    assert denies[0].body["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_bucket_is_encrypted_private_and_forgets_old_checkpoints(
    template: dict[str, Any],
) -> None:
    bucket = template["Resources"]["StudyBucket"]["Properties"]
    rule = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
    assert rule["ServerSideEncryptionByDefault"]["SSEAlgorithm"] in ("AES256", "aws:kms")
    assert all(bucket["PublicAccessBlockConfiguration"].values())
    assert len(bucket["PublicAccessBlockConfiguration"]) == 4
    rules = {r["Id"]: r for r in bucket["LifecycleConfiguration"]["Rules"]}
    assert rules["ExpireOldCheckpoints"]["Prefix"] == "checkpoints/"
    assert rules["ExpireOldCheckpoints"]["ExpirationInDays"] == {"Ref": "CheckpointRetentionDays"}


def test_the_readme_commands_name_the_template() -> None:
    text = README.read_text()
    assert "aws cloudformation deploy" in text and "--template-file infra/template.yaml" in text
    assert "aws cloudformation delete-stack" in text
    assert text.index("aws s3 rm") < text.index("aws cloudformation delete-stack")
    assert Path(TEMPLATE).exists()


def test_the_study_s_job_events_go_to_its_queue_and_nowhere_else(
    template: dict[str, Any],
) -> None:
    from byohpo.backends._job_events import rule_pattern

    rule = template["Resources"]["JobEventsRule"]["Properties"]
    pattern = dict(rule["EventPattern"])
    assert pattern.pop("account") == [{"Ref": "AWS::AccountId"}]
    prefix = pattern["detail"]["TrainingJobName"][0]["prefix"]
    assert prefix == {"Fn::Sub": "${StudyName}-"}, "the rule must match the study's jobs only"
    pattern["detail"]["TrainingJobName"][0]["prefix"] = "${StudyName}-"
    assert pattern == rule_pattern("${StudyName}-")  # what the backend reads, and the fake sends
    assert rule["Targets"] == [
        {"Id": "study-queue", "Arn": {"Fn::GetAtt": ["JobEventsQueue", "Arn"]}}
    ]


def test_only_the_study_s_rule_may_send_to_its_queue(template: dict[str, Any]) -> None:
    queue_policies = [s for s in statements(template) if s.where.startswith("JobEventsQueuePolicy")]
    (send,) = queue_policies
    assert send.effect == "Allow" and send.actions == ["sqs:SendMessage"]
    assert send.body["Principal"] == {"Service": "events.amazonaws.com"}
    assert send.resources == [{"Fn::GetAtt": ["JobEventsQueue", "Arn"]}]
    condition = send.body["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert condition == {"Fn::GetAtt": ["JobEventsRule", "Arn"]}


def test_only_the_orchestrator_reads_the_queue_and_only_that_one(template: dict[str, Any]) -> None:
    readers = [
        s for s in allow_statements(template) if any(a.startswith("sqs:") for a in s.actions)
    ]
    readers = [s for s in readers if not s.where.startswith("JobEventsQueuePolicy")]
    assert [s.where for s in readers] == ["OrchestratorRole/orchestrator: ReadJobEvents"]
    (read,) = readers
    assert read.actions == ["sqs:ReceiveMessage", "sqs:DeleteMessage"]
    assert read.resources == [{"Fn::GetAtt": ["JobEventsQueue", "Arn"]}]
    outputs = template["Outputs"]
    assert outputs["JobEventsQueueUrl"]["Value"] == {"Ref": "JobEventsQueue"}
