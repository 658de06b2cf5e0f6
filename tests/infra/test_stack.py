"""The stack, deployed into moto's CloudFormation, grants what byohpo does and no less.

A dry-run pipeline step runs a study with the stack's bucket and roles; every AWS call
it makes (recorded as the orchestrator makes it, and as the fake counts it) must be one
the orchestrator role's policy allows. ``byohpo pipeline deploy`` is held to the
deployer's policy the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.cli import main
from byohpo.fake import FakeSageMaker
from byohpo.pipeline._definition import study_store
from byohpo.pipeline._step import run_step
from byohpo.study_file import load_study_file
from tests.infra.policy import (
    ACCOUNT,
    REGION,
    Call,
    Need,
    action_of,
    allows,
    document,
    needs,
    recorded_calls,
)
from tests.infra.template import UNSUPPORTED_BY_MOTO, deploy_into_moto, load_template
from tests.pipeline_study import accuracy, upload_study, write_study

STUDY = "tiny"
BUCKET = f"byohpo-{STUDY}-{ACCOUNT}-{REGION}"


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeSageMaker]:
    with FakeSageMaker(instant=True, metrics_fn=accuracy, check_roles=True) as fake:
        yield fake


@pytest.fixture(scope="module")
def stack(fake: FakeSageMaker) -> dict[str, str]:
    """The stack's outputs, deployed into moto without the types it does not support."""
    return deploy_into_moto(STUDY)


def role_policy(role: str) -> dict[str, Any]:
    """The inline policy of one of the stack's roles, as IAM holds it."""
    iam = boto3.client("iam")
    (name,) = iam.list_role_policies(RoleName=role)["PolicyNames"]
    return document(iam.get_role_policy(RoleName=role, PolicyName=name)["PolicyDocument"])


def managed_policy(arn: str) -> dict[str, Any]:
    iam = boto3.client("iam")
    version = iam.get_policy(PolicyArn=arn)["Policy"]["DefaultVersionId"]
    policy = iam.get_policy_version(PolicyArn=arn, VersionId=version)["PolicyVersion"]
    return document(policy["Document"])


def refused(policy: dict[str, Any], calls: list[Call]) -> list[tuple[str, Need]]:
    return [
        (f"{c.service}.{c.operation}", need)
        for c in calls
        for need in needs(c)
        if not allows(policy, need)
    ]


def test_the_stack_deploys_into_moto(stack: dict[str, str]) -> None:
    assert stack["BucketName"] == BUCKET
    assert stack["OrchestratorRoleArn"] == f"arn:aws:iam::{ACCOUNT}:role/byohpo-tiny-orchestrator"
    # moto applies the bucket's encryption but not its public access block or lifecycle:
    # test_template reads those from the template.
    s3 = boto3.client("s3")
    encryption = s3.get_bucket_encryption(Bucket=BUCKET)["ServerSideEncryptionConfiguration"]
    assert encryption["Rules"][0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"]


def test_moto_lacks_exactly_the_skipped_resource_types() -> None:
    from moto.cloudformation.parsing import get_model_map

    types = {r["Type"] for r in load_template()["Resources"].values()}
    supported = set(get_model_map())
    assert types - supported == set(UNSUPPORTED_BY_MOTO), "deploy what moto now supports too"


def test_a_dry_run_step_calls_only_what_the_orchestrator_role_allows(
    fake: FakeSageMaker, stack: dict[str, str], tmp_path: Path
) -> None:
    study = write_study(tmp_path, name=STUDY, bucket=BUCKET)
    image = f"{stack['StepImageRepositoryUri']}:1"
    settings = upload_study(study, boto3.client("s3"), image_uri=image)
    assert settings.role == stack["OrchestratorRoleArn"]
    store = study_store(study, settings)
    fake.aws.reset_counters()
    with recorded_calls() as calls:
        result = run_step(
            settings.study_file_uri,
            store=store,
            results_dir=tmp_path / "results",
            run_id="exec1",
            backend=fake,
            progress=False,
        )
        # the step retried: it resumes, then reads a job's log as a learning-curve feature does
        run_step(
            settings.study_file_uri,
            store=store,
            results_dir=tmp_path / "again",
            run_id="exec1",
            backend=fake,
            progress=False,
        )
        job = load_study_file(settings.study_file_uri).tuner_args["job"]
        fake.open(result.name, job)
        fake.read_curves(str(result.table()["job_name"].iloc[0]))
    counted = [*fake.aws.api_calls, *fake.aws.aws_calls]
    assert result.table()["status"].eq("Completed").all()
    operations = {f"{c.service}.{c.operation}" for c in calls}
    assert {
        "sagemaker.CreateTrainingJob",
        "sagemaker.ListTrainingJobs",
        "sagemaker.DescribeTrainingJob",
        "s3.GetObject",
        "s3.PutObject",
        "logs.GetLogEvents",
    } <= operations
    policy = role_policy("byohpo-tiny-orchestrator")
    assert refused(policy, calls) == []
    narrower = {"Statement": [s for s in policy["Statement"] if s["Sid"] != "ListTrainingJobs"]}
    assert [op for op, _ in refused(narrower, calls)][:1] == ["sagemaker.ListTrainingJobs"]
    granted = {a for s in policy["Statement"] for a in s["Action"] if isinstance(s["Action"], list)}
    granted |= {s["Action"] for s in policy["Statement"] if isinstance(s["Action"], str)}
    assert counted and [c for c in counted if action_of(c) not in granted] == []


def test_the_step_may_not_touch_another_study(stack: dict[str, str]) -> None:
    policy = role_policy("byohpo-tiny-orchestrator")
    other = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:training-job/other-study-t00000"
    assert not allows(policy, Need("sagemaker:CreateTrainingJob", other))
    assert not allows(policy, Need("s3:GetObject", f"arn:aws:s3:::{BUCKET}/studies/other/x"))
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    admin = f"arn:aws:iam::{ACCOUNT}:role/Admin"
    assert not allows(policy, Need("iam:PassRole", admin, passed))
    training = stack["TrainingRoleArn"]
    assert not allows(policy, Need("iam:PassRole", training, {"iam:PassedToService": "ec2"}))


def test_deploy_calls_only_what_the_deployer_policy_allows(
    fake: FakeSageMaker, stack: dict[str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = write_study(tmp_path, name=STUDY, bucket=BUCKET)
    argv = [
        "pipeline",
        "deploy",
        str(study.path),
        "--image-uri",
        f"{stack['StepImageRepositoryUri']}:1",
        "--schedule",
        "cron(0 3 * * ? *)",
        "--scheduler-role",
        stack["SchedulerRoleArn"],
    ]
    with recorded_calls() as calls:
        assert main(argv) == 0
        assert main(argv) == 0  # again: updates, creates nothing twice
    printed = capsys.readouterr().out
    assert "pipeline created" in printed and "pipeline updated" in printed
    assert refused(managed_policy(stack["DeployerPolicyArn"]), calls) == []

    sagemaker = boto3.client("sagemaker")
    pipeline = sagemaker.describe_pipeline(PipelineName=stack["PipelineName"])
    assert pipeline["RoleArn"] == stack["PipelineRoleArn"]
    schedule = boto3.client("scheduler").get_schedule(Name=stack["PipelineName"])
    assert schedule["ScheduleExpression"] == "cron(0 3 * * ? *)"
    assert schedule["Target"]["Arn"] == pipeline["PipelineArn"]
    assert schedule["Target"]["RoleArn"] == stack["SchedulerRoleArn"]

    start = Need("sagemaker:StartPipelineExecution", pipeline["PipelineArn"])
    assert allows(role_policy("byohpo-tiny-scheduler"), start)
    definition = json.loads(pipeline["PipelineDefinition"])
    step = definition["Steps"][0]["Arguments"]
    job = f"arn:aws:sagemaker:{REGION}:{ACCOUNT}:processing-job/pipelines-a1b2c3-runstudy-x9"
    pipeline_policy = role_policy("byohpo-tiny-pipeline")
    passed = {"iam:PassedToService": "sagemaker.amazonaws.com"}
    assert allows(pipeline_policy, Need("sagemaker:CreateProcessingJob", job))
    assert allows(pipeline_policy, Need("iam:PassRole", step["RoleArn"], passed))
    best = f"arn:aws:s3:::{BUCKET}/studies/{STUDY}/results/a1b2c3/best.json"
    assert allows(pipeline_policy, Need("s3:GetObject", best))
    orchestrator = role_policy("byohpo-tiny-orchestrator")
    assert allows(orchestrator, Need("s3:PutObject", best))
    group = "/aws/sagemaker/ProcessingJobs"
    log = f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{group}:log-stream:pipelines-a1-RunStudy-x9/1"
    assert allows(orchestrator, Need("logs:PutLogEvents", log))


def test_the_stack_s_rule_brings_the_study_s_job_events_and_the_role_may_read_them(
    stack: dict[str, str],
) -> None:
    from byohpo.backends._job_events import EventQueue
    from byohpo.backends._retry import RetryingCaller, RetryPolicy

    def ended(name: str) -> dict[str, Any]:
        detail = {"TrainingJobName": name, "TrainingJobStatus": "Completed"}
        return {
            "Source": "aws.sagemaker",
            "DetailType": "SageMaker Training Job State Change",
            "Detail": json.dumps(detail),
        }

    mine, other = f"{STUDY}-k3x9q2ma-t00001", "tinyother-k3x9q2ma-t00001"
    boto3.client("events").put_events(Entries=[ended(mine), ended(other)])
    url = stack["JobEventsQueueUrl"]
    queue = EventQueue(boto3.client("sqs"), url, RetryingCaller(policy=RetryPolicy()))
    with recorded_calls() as calls:
        changes = queue.receive(0)
    assert [c.job_name for c in changes if c is not None] == [mine]
    assert {c.operation for c in calls} == {"ReceiveMessage", "DeleteMessageBatch"}
    assert refused(role_policy("byohpo-tiny-orchestrator"), calls) == []
    assert queue.receive(0) == []  # what was read was deleted
