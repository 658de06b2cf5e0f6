"""ListTrainingJobs, Search and tags, answered as SageMaker answers them."""

from __future__ import annotations

import time
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from botocore.exceptions import ClientError

from byohpo.fake._aws import FakeAWS

from .conftest import JobRequest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def _accuracy(hyperparameters: Mapping[str, Any]) -> dict[str, float]:
    return {"accuracy": 1.0 - float(hyperparameters["lr"])}


INSTANT = pytest.mark.fake_options(instant=True, metrics_fn=_accuracy)


def _create(sagemaker: SageMakerClient, job_request: JobRequest, count: int) -> list[str]:
    names = []
    for index in range(count):
        name = f"{'study-a' if index % 2 == 0 else 'study-b'}-t{index:05d}"
        sagemaker.create_training_job(
            **job_request(
                name,
                {"lr": str(index / 100)},
                metrics={"accuracy": r"accuracy=([0-9.]+)"},
                Tags=[{"Key": "study", "Value": name[:7]}],
            )
        )
        names.append(name)
        time.sleep(0.002)  # distinct creation times, as jobs created one after another
    return names


@INSTANT
def test_list_training_jobs_pages_through_every_job_once(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    names = _create(sagemaker, job_request, 25)
    pages: list[list[str]] = []
    token: str | None = None
    while True:
        kwargs: dict[str, Any] = {"MaxResults": 10}
        if token:
            kwargs["NextToken"] = token
        response = sagemaker.list_training_jobs(**kwargs)
        pages.append([s["TrainingJobName"] for s in response["TrainingJobSummaries"]])
        token = response.get("NextToken")
        if not token:
            break
    assert [len(page) for page in pages] == [10, 10, 5]
    assert [name for page in pages for name in page] == names  # CreationTime, Ascending
    paginator = sagemaker.get_paginator("list_training_jobs")
    descending = [
        s["TrainingJobName"]
        for page in paginator.paginate(SortOrder="Descending", PaginationConfig={"PageSize": 7})
        for s in page["TrainingJobSummaries"]
    ]
    assert descending == names[::-1]


@INSTANT
def test_list_training_jobs_filters_and_sorts(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    names = _create(sagemaker, job_request, 6)
    fake.wait()
    created = sagemaker.describe_training_job(TrainingJobName=names[0])["CreationTime"]
    summaries = sagemaker.list_training_jobs(
        NameContains="STUDY-A", StatusEquals="Completed", SortBy="Name", SortOrder="Descending"
    )["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in summaries] == sorted(names[::2], reverse=True)
    assert set(summaries[0]) >= {
        "TrainingJobName",
        "TrainingJobArn",
        "CreationTime",
        "TrainingEndTime",
        "LastModifiedTime",
        "TrainingJobStatus",
        "SecondaryStatus",
    }
    # botocore sends whole seconds: compare a second around the jobs' creation.
    before = created - timedelta(seconds=1)
    after = sagemaker.list_training_jobs(CreationTimeAfter=before)["TrainingJobSummaries"]
    assert [s["TrainingJobName"] for s in after] == names
    later = created + timedelta(seconds=2)
    assert sagemaker.list_training_jobs(CreationTimeAfter=later)["TrainingJobSummaries"] == []
    assert sagemaker.list_training_jobs(StatusEquals="InProgress")["TrainingJobSummaries"] == []


@INSTANT
def test_list_training_jobs_refuses_what_sagemaker_refuses(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    _create(sagemaker, job_request, 3)
    with pytest.raises(ClientError) as error:
        sagemaker.list_training_jobs(MaxResults=101)
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert "less than or equal to 100" in error.value.response["Error"]["Message"]
    token = sagemaker.list_training_jobs(MaxResults=1)["NextToken"]
    with pytest.raises(ClientError) as error:
        sagemaker.list_training_jobs(MaxResults=1, NextToken=token, NameContains="other")
    assert error.value.response["Error"]["Code"] == "ValidationException"


@INSTANT
def test_search_finds_a_study_s_jobs_by_name_tag_and_status(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    names = _create(sagemaker, job_request, 8)
    fake.wait()

    def search(expression: Any, **kwargs: Any) -> list[str]:
        found = []
        paginator = sagemaker.get_paginator("search")
        for page in paginator.paginate(
            Resource="TrainingJob", SearchExpression=expression, **kwargs
        ):
            found += [r["TrainingJob"]["TrainingJobName"] for r in page["Results"]]
        return found

    by_name = search(
        {"Filters": [{"Name": "TrainingJobName", "Operator": "Contains", "Value": "study-b-"}]},
        SortBy="CreationTime",
        SortOrder="Ascending",
        PaginationConfig={"PageSize": 3},
    )
    assert by_name == names[1::2]
    by_tag = search({"Filters": [{"Name": "Tags.study", "Value": "study-a"}]})
    assert sorted(by_tag) == sorted(names[::2])
    status_and_metric = search(
        {
            "Filters": [
                {"Name": "TrainingJobStatus", "Operator": "In", "Value": "Completed,Stopped"},
                {"Name": "Metrics.accuracy", "Operator": "GreaterThan", "Value": "0.965"},
            ]
        }
    )
    assert sorted(status_and_metric) == sorted(names[:4])  # lr 0.00 .. 0.03
    either = search(
        {
            "SubExpressions": [
                {
                    "Filters": [
                        {"Name": "HyperParameters.lr", "Operator": "Equals", "Value": "0.07"}
                    ]
                },
                {"Filters": [{"Name": "TrainingJobName", "Operator": "Equals", "Value": names[0]}]},
            ],
            "Operator": "Or",
        }
    )
    assert sorted(either) == sorted([names[0], names[7]])
    result = sagemaker.search(
        Resource="TrainingJob",
        SearchExpression={"Filters": [{"Name": "TrainingJobName", "Value": names[0]}]},
    )["Results"][0]["TrainingJob"]
    assert result["Tags"] == [{"Key": "study", "Value": "study-a"}]
    assert result["FinalMetricDataList"][0]["MetricName"] == "accuracy"


@INSTANT
def test_tags_are_stored_added_listed_and_deleted(
    sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    _create(sagemaker, job_request, 1)
    arn = sagemaker.describe_training_job(TrainingJobName="study-a-t00000")["TrainingJobArn"]
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "study", "Value": "study-a"}]
    sagemaker.add_tags(ResourceArn=arn, Tags=[{"Key": "trial", "Value": "0"}])
    sagemaker.delete_tags(ResourceArn=arn, TagKeys=["study"])
    assert sagemaker.list_tags(ResourceArn=arn)["Tags"] == [{"Key": "trial", "Value": "0"}]


@INSTANT
def test_instant_jobs_go_through_the_same_lifecycle_and_logs(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    started = datetime.now(UTC)
    _create(sagemaker, job_request, 40)
    jobs = fake.wait()
    assert [job.status for job in jobs] == ["Completed"] * 40
    described = sagemaker.describe_training_job(TrainingJobName="study-b-t00011")
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert described["TrainingStartTime"] >= started
    assert described["FinalMetricDataList"][0]["Value"] == pytest.approx(0.89)
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith("/output/model.tar.gz")
    assert jobs[11].log_stream is not None and jobs[11].log_stream.startswith("study-b-t00011/")
    assert fake.api_calls == {"CreateTrainingJob": 40, "DescribeTrainingJob": 1}
