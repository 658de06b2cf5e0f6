"""The fake refuses what SageMaker refuses, with SageMaker's error codes and messages."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from byohpo.fake._aws import FakeAWS

from .conftest import BUCKET, JobRequest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def _error(call: Any, **kwargs: Any) -> tuple[str, str]:
    with pytest.raises(ClientError) as raised:
        call(**kwargs)
    error = raised.value.response["Error"]
    assert raised.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    return error["Code"], error["Message"]


def test_a_duplicate_name_is_refused_and_the_first_job_is_untouched(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    first = sagemaker.create_training_job(**job_request("twin", {"lr": "0.5"}))
    code, message = _error(
        sagemaker.create_training_job, **job_request("twin", {"lr": "0.9", "epochs": "1"})
    )
    assert code == "ResourceInUse"
    assert message == (
        "Training job names must be unique within an AWS account and region, and a training "
        f"job with this name already exists ({first['TrainingJobArn']})"
    )
    # Names differ only in case: the ARNs (lower-cased) would clash, so SageMaker refuses too.
    assert _error(sagemaker.create_training_job, **job_request("TWIN"))[0] == "ResourceInUse"
    job = fake.wait("twin")[0]
    assert len(fake.jobs()) == 1
    assert job.hyperparameters["lr"] == "0.5"
    assert job.status == "Completed"
    assert [
        m["Value"]
        for m in sagemaker.describe_training_job(TrainingJobName="twin")["FinalMetricDataList"]
    ] == [pytest.approx(0.5 / 3, abs=1e-5)]


@pytest.mark.parametrize(
    ("name", "constraint"),
    [
        (
            "bad_name",
            "Member must satisfy regular expression pattern: ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}",
        ),
        ("-leading-hyphen", "Member must satisfy regular expression pattern"),
        ("trailing-", "Member must satisfy regular expression pattern"),
        ("a" * 64, "Member must have length less than or equal to 63"),
    ],
)
def test_job_names_are_checked_as_sagemaker_checks_them(
    sagemaker: SageMakerClient, job_request: JobRequest, name: str, constraint: str
) -> None:
    code, message = _error(sagemaker.create_training_job, **job_request(name))
    assert code == "ValidationException"
    # A 64-character name breaks the length and the pattern: both are reported.
    count = 2 if len(name) > 63 else 1
    assert message.startswith(
        f"{count} validation error{'s' * (count - 1)} detected: Value '{name}' at "
        "'trainingJobName' failed to satisfy constraint: "
    )
    assert constraint in message
    assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []


def test_an_unknown_instance_type_is_refused(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    request = job_request("bad-instance")
    request["ResourceConfig"]["InstanceType"] = "ml.m5.enormous"
    code, message = _error(sagemaker.create_training_job, **request)
    assert code == "ValidationException"
    assert "Value 'ml.m5.enormous' at 'resourceConfig.instanceType'" in message
    assert "Member must satisfy enum value set: [" in message and "ml.g5.xlarge" in message


def test_hyperparameters_are_checked_as_sagemaker_checks_them(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    too_many = {f"p{i}": "1" for i in range(100)}
    code, message = _error(sagemaker.create_training_job, **job_request("many", too_many))
    assert code == "ValidationException"
    assert (
        "at 'hyperParameters' failed to satisfy constraint: Member must have length less "
        "than or equal to 100" in message
    )
    code, message = _error(sagemaker.create_training_job, **job_request("long", {"x": "9" * 2501}))
    assert (
        "Map value must satisfy constraint: [Member must have length less than or equal to "
        "2500" in message
    )
    code, message = _error(sagemaker.create_training_job, **job_request("key", {"k" * 257: "1"}))
    assert (
        "Map keys must satisfy constraint: [Member must have length less than or equal to "
        "256" in message
    )


def test_metric_definitions_are_checked(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    too_many = {f"m{i}": "x=([0-9]+)" for i in range(41)}
    code, message = _error(sagemaker.create_training_job, **job_request("m", metrics=too_many))
    assert code == "ValidationException"
    assert (
        "at 'algorithmSpecification.metricDefinitions' failed to satisfy constraint: "
        "Member must have length less than or equal to 40" in message
    )
    code, message = _error(
        sagemaker.create_training_job, **job_request("m", metrics={"loss": "loss=([0-9.]+"})
    )
    assert code == "ValidationException"
    assert "Invalid regular expression 'loss=([0-9.]+' for metric 'loss'" in message


@pytest.mark.parametrize(
    ("change", "path"),
    [
        ({"RoleArn": "SageMakerRole-but-no-arn"}, "roleArn"),
        (
            {"OutputDataConfig": {"S3OutputPath": "bucket/no-scheme"}},
            "outputDataConfig.s3OutputPath",
        ),
        (
            {
                "ResourceConfig": {
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 1,
                    "KeepAlivePeriodInSeconds": 21601,
                }
            },
            "resourceConfig.keepAlivePeriodInSeconds",
        ),
    ],
)
def test_arns_uris_and_limits_are_checked(
    sagemaker: SageMakerClient, job_request: JobRequest, change: dict[str, Any], path: str
) -> None:
    code, message = _error(sagemaker.create_training_job, **job_request("checked", **change))
    assert code == "ValidationException"
    assert f"at '{path}' failed to satisfy constraint" in message


def test_a_channel_without_objects_is_refused(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    channel = {
        "ChannelName": "train",
        "DataSource": {
            "S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": f"s3://{BUCKET}/nothing/here"}
        },
    }
    code, message = _error(
        sagemaker.create_training_job, **job_request("empty", InputDataConfig=[channel])
    )
    assert code == "ValidationException"
    assert message.startswith(
        f'No S3 objects found under S3 URL "s3://{BUCKET}/nothing/here" given in input data source.'
    )


def test_spot_training_needs_a_max_wait_time(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    code, message = _error(
        sagemaker.create_training_job,
        **job_request("spot", EnableManagedSpotTraining=True),
    )
    assert code == "ValidationException"
    assert message == (
        "Invalid MaxWaitTimeInSeconds. It must be present and be greater than or equal to "
        "MaxRuntimeInSeconds"
    )


def test_unknown_jobs_are_reported_as_sagemaker_reports_them(sagemaker: SageMakerClient) -> None:
    for call in (sagemaker.describe_training_job, sagemaker.stop_training_job):
        assert _error(call, TrainingJobName="no-such-job") == (
            "ValidationException",
            "Requested resource not found.",
        )


def test_validation_errors_are_listed_together(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    request = job_request("two_errors")
    request["ResourceConfig"]["InstanceType"] = "ml.nope"
    _, message = _error(sagemaker.create_training_job, **request)
    assert message.startswith("2 validation errors detected: Value 'two_errors'")
    assert "; Value 'ml.nope' at 'resourceConfig.instanceType'" in message
