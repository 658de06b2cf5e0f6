"""A dry run that remembers: a fake account's jobs outlive the fake that ran them."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from byohpo.fake._aws import FakeAWS
from byohpo.fake._job_journal import LOST_REASON
from byohpo.fake._service import JOURNAL_DIR
from byohpo.fake._service_client import ServiceEnvironment, start_service, stop_service

from .conftest import NO_RETRIES, ROLE, TRAIN_SCRIPT, _sourcedir, wait_for

INSTANT: dict[str, Any] = {
    "instant": True,
    "metrics_fn": lambda hp: {"loss": float(hp["lr"])},
}


def _create(sagemaker: Any, name: str, lr: str, bucket: str = "memory") -> None:
    sagemaker.create_training_job(
        TrainingJobName=name,
        RoleArn=ROLE,
        AlgorithmSpecification={
            "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny:1",
            "TrainingInputMode": "File",
            "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
        },
        HyperParameters={
            "sagemaker_program": '"train.py"',
            "sagemaker_submit_directory": f'"s3://{bucket}/code.tar.gz"',
            "lr": lr,
            "epochs": "1",
        },
        OutputDataConfig={"S3OutputPath": f"s3://{bucket}/output"},
        ResourceConfig={"InstanceType": "ml.m5.large", "InstanceCount": 1, "VolumeSizeInGB": 10},
        StoppingCondition={"MaxRuntimeInSeconds": 600},
    )


def _metrics(description: dict[str, Any]) -> dict[str, float]:
    return {m["MetricName"]: m["Value"] for m in description.get("FinalMetricDataList", [])}


def test_a_fake_with_a_journal_finds_its_ended_jobs_again(tmp_path: Path) -> None:
    journal = tmp_path / "jobs"
    with FakeAWS(journal=journal, create_buckets=True, **INSTANT) as fake:
        sagemaker: Any = fake.session().client("sagemaker", config=NO_RETRIES)
        with closing(sagemaker):
            _create(sagemaker, "remembered", "0.25")
            fake.wait("remembered")
            before = sagemaker.describe_training_job(TrainingJobName="remembered")
        assert fake.save_journal() == 1
        assert fake.save_journal() == 0  # nothing changed: nothing written again
    with FakeAWS(journal=journal, **INSTANT) as again:
        sagemaker = again.session().client("sagemaker", config=NO_RETRIES)
        with closing(sagemaker):
            after = sagemaker.describe_training_job(TrainingJobName="remembered")
            listed = sagemaker.list_training_jobs()["TrainingJobSummaries"]
            with pytest.raises(ClientError) as twin:
                _create(sagemaker, "remembered", "0.5")
    assert after["TrainingJobStatus"] == "Completed"
    assert _metrics(after) == {"loss": 0.25}
    for key in ("CreationTime", "TrainingStartTime", "TrainingEndTime", "HyperParameters"):
        assert after[key] == before[key]
    assert after["SecondaryStatusTransitions"] == before["SecondaryStatusTransitions"]
    assert [(j["TrainingJobName"], j["TrainingJobStatus"]) for j in listed] == [
        ("remembered", "Completed")
    ]
    assert twin.value.response["Error"]["Code"] == "ResourceInUse"  # a name is used once


def test_a_job_running_when_its_fake_ended_comes_back_failed_as_an_internal_error(
    tmp_path: Path, wait: Callable[..., None]
) -> None:
    journal = tmp_path / "jobs"
    with FakeAWS(
        journal=journal, create_buckets=True, instant_training_seconds=600, **INSTANT
    ) as fake:
        with closing(fake.session().client("sagemaker", config=NO_RETRIES)) as sagemaker:
            _create(sagemaker, "cut-short", "0.5")
        wait(lambda: fake.job("cut-short").secondary_status == "Training", message="training")
        fake.save_journal()  # as the service does before it kills its jobs
    with FakeAWS(journal=journal, **INSTANT) as again:
        job = again.job("cut-short")
    assert job.status == "Failed"
    assert job.failure_reason == LOST_REASON
    assert job.failure_reason.startswith("InternalServerError")  # a study retries it


def test_an_unreadable_job_record_is_skipped(tmp_path: Path) -> None:
    journal = tmp_path / "jobs"
    journal.mkdir()
    (journal / "us-east-1--torn.json").write_text('{"name": "torn", ')
    with FakeAWS(journal=journal) as fake:
        assert fake.jobs() == []


@pytest.fixture
def service_dir(tmp_path: Path) -> Iterator[Path]:
    directory = tmp_path / "fake-aws"
    yield directory
    stop_service(directory)


def test_a_service_started_after_the_last_one_ended_answers_for_its_jobs(
    service_dir: Path,
) -> None:
    options = {"stop_grace_seconds": 1.0, "create_buckets": True}

    def on_service(work: Callable[[Any, Any], Any]) -> Any:
        start = start_service(service_dir, idle_timeout=60, options=options)
        environment = ServiceEnvironment(start.endpoint.url, "us-east-1")
        environment.apply()
        try:
            session = boto3.session.Session()
            with (
                closing(session.client("sagemaker", config=NO_RETRIES)) as sagemaker,
                closing(session.client("s3")) as s3,
            ):
                return start.found, work(sagemaker, s3)
        finally:
            environment.restore()

    def run_a_job(sagemaker: Any, s3: Any) -> dict[str, Any]:
        s3.put_object(
            Bucket="memory", Key="code.tar.gz", Body=_sourcedir({"train.py": TRAIN_SCRIPT})
        )
        _create(sagemaker, "kept-job", "0.2")

        def ended() -> bool:
            status = sagemaker.describe_training_job(TrainingJobName="kept-job")
            return bool(status["TrainingJobStatus"] != "InProgress")

        wait_for(ended, timeout=60, message="the job to end")
        answer: dict[str, Any] = sagemaker.describe_training_job(TrainingJobName="kept-job")
        return answer

    found, before = on_service(run_a_job)
    assert not found and before["TrainingJobStatus"] == "Completed"
    assert stop_service(service_dir)  # the service ends, as after its idle timeout
    record = json.loads((service_dir / JOURNAL_DIR / "us-east-1--kept-job.json").read_text())
    assert record["secondary_status"] == "Completed"

    found, after = on_service(
        lambda sagemaker, s3: sagemaker.describe_training_job(TrainingJobName="kept-job")
    )
    assert not found  # a new service, in the same directory
    assert after["TrainingJobStatus"] == "Completed"
    assert _metrics(after) == _metrics(before) == {"loss": pytest.approx(0.2)}
