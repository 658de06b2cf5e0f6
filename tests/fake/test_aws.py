"""The fake account as a whole: its environment, its counters, billing and warm pools."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from typing import TYPE_CHECKING

import boto3
import pytest
from botocore.exceptions import ClientError

from byohpo.errors import UserError
from byohpo.fake._aws import FakeAWS

from .conftest import BUCKET, JobRequest

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient


@pytest.fixture
def real_looking_environment(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIAREALLOOKING")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "real-looking-secret")
    monkeypatch.setenv("AWS_PROFILE", "production")
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)
    yield


def test_importing_the_fake_changes_nothing() -> None:
    code = (
        "import os, json; before = dict(os.environ); "
        "import botocore.handlers as h; handlers = len(h.BUILTIN_HANDLERS); "
        "import byohpo.fake._aws; "
        "print(json.dumps([dict(os.environ) == before, len(h.BUILTIN_HANDLERS) == handlers]))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    )
    assert json.loads(result.stdout) == [True, True]


@pytest.mark.usefixtures("real_looking_environment")
def test_credentials_are_fake_only_while_active() -> None:
    with FakeAWS(region="eu-west-1") as fake:
        assert os.environ["AWS_ACCESS_KEY_ID"] != "AKIAREALLOOKING"
        assert "AWS_PROFILE" not in os.environ
        with closing(boto3.client("sts")) as sts:
            assert sts.get_caller_identity()["Account"] == fake.account_id
        with closing(boto3.client("sagemaker")) as sagemaker:
            assert sagemaker.meta.region_name == "eu-west-1"
            assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
    assert os.environ["AWS_ACCESS_KEY_ID"] == "AKIAREALLOOKING"
    assert os.environ["AWS_PROFILE"] == "production"
    assert "AWS_DEFAULT_REGION" not in os.environ


def test_a_client_made_before_the_fake_can_be_patched_into_it() -> None:
    client = boto3.session.Session().client(
        "sagemaker",
        region_name="us-east-1",
        aws_access_key_id="made-before",
        aws_secret_access_key="made-before",
    )
    with closing(client), FakeAWS() as fake:
        FakeAWS.patch_client(client)
        assert client.list_training_jobs()["TrainingJobSummaries"] == []
        assert fake.api_calls == {"ListTrainingJobs": 1}


def test_calls_are_counted_by_operation_but_not_the_fake_s_own(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    s3: S3Client,
    logs: CloudWatchLogsClient,
    job_request: JobRequest,
) -> None:
    s3.put_object(Bucket=BUCKET, Key="data/train/a.csv", Body=b"1")
    fake.reset_counters()
    channel = {
        "ChannelName": "train",
        "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/data"}},
    }
    sagemaker.create_training_job(**job_request("counted", InputDataConfig=[channel]))
    fake.wait("counted")
    sagemaker.describe_training_job(TrainingJobName="counted")
    with pytest.raises(ClientError):
        sagemaker.describe_training_job(TrainingJobName="missing")
    logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")
    assert fake.api_calls == {"CreateTrainingJob": 1, "DescribeTrainingJob": 2}
    # Downloads, uploads and log writes of the job itself are not the user's calls.
    assert fake.aws_calls == {"cloudwatch-logs.DescribeLogStreams": 1}


@pytest.mark.fake_options(spot_savings=0.5)
def test_managed_spot_jobs_bill_less_than_they_train(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(
        **job_request(
            "spot",
            {"epochs": "2", "sleep": "1.1"},
            EnableManagedSpotTraining=True,
            StoppingCondition={"MaxRuntimeInSeconds": 60, "MaxWaitTimeInSeconds": 120},
        )
    )
    fake.wait("spot")
    described = sagemaker.describe_training_job(TrainingJobName="spot")
    assert described["EnableManagedSpotTraining"] is True
    assert described["TrainingTimeInSeconds"] >= 3
    assert described["BillableTimeInSeconds"] < described["TrainingTimeInSeconds"]


@pytest.mark.fake_options(instant=True)
def test_a_warm_pool_is_kept_and_reused_by_a_matching_job(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    resources = {
        "InstanceType": "ml.m5.large",
        "InstanceCount": 1,
        "VolumeSizeInGB": 10,
        "KeepAlivePeriodInSeconds": 600,
    }
    sagemaker.create_training_job(**job_request("pool-owner", ResourceConfig=resources))
    fake.wait("pool-owner")
    owner = sagemaker.describe_training_job(TrainingJobName="pool-owner")["WarmPoolStatus"]
    assert owner["Status"] == "Available"
    sagemaker.create_training_job(**job_request("pool-user", ResourceConfig=resources))
    fake.wait("pool-user")
    owner = sagemaker.describe_training_job(TrainingJobName="pool-owner")["WarmPoolStatus"]
    assert owner["Status"] == "Reused" and owner["ReusedByJob"] == "pool-user"
    listed = sagemaker.list_training_jobs(WarmPoolStatusEquals="Available")
    assert [s["TrainingJobName"] for s in listed["TrainingJobSummaries"]] == ["pool-user"]


@pytest.mark.fake_options(check_roles=True)
def test_a_missing_role_is_refused_when_roles_are_checked(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**job_request("no-role"))
    assert error.value.response["Error"]["Message"].startswith(
        "Could not assume role arn:aws:iam::123456789012:role/SageMakerRole."
    )
    with closing(fake.session().client("iam")) as iam:
        iam.create_role(RoleName="SageMakerRole", AssumeRolePolicyDocument="{}")
    sagemaker.create_training_job(**job_request("with-role"))


@pytest.mark.parametrize(
    "options",
    [
        {"python": "/no/such/python"},
        {"max_concurrent_jobs": 0},
        {"startup_seconds": -1.0},
        {"metrics_fn": lambda hps: {}},
        {"spot_savings": 1.0},
    ],
)
def test_impossible_options_are_refused_before_anything_starts(options: dict[str, object]) -> None:
    with pytest.raises(UserError):
        FakeAWS(**options)  # type: ignore[arg-type]
