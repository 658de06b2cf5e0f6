"""A job that is Stopping ends Stopped in the fake, as on SageMaker, whatever happens next."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest

from byohpo.fake._aws import FakeAWS
from byohpo.fake._faults import FailureKind, Faults

from .conftest import JobRequest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def _doomed(kind: FailureKind, **options: object) -> pytest.MarkDecorator:
    faults = Faults(job_failure_rate=1.0, job_failure_kinds=(kind,))
    return pytest.mark.fake_options(faults=faults, **options)


@pytest.mark.parametrize(
    "kind",
    [
        pytest.param(FailureKind.CAPACITY, marks=_doomed(FailureKind.CAPACITY, startup_seconds=2)),
        pytest.param(FailureKind.INTERNAL, marks=_doomed(FailureKind.INTERNAL, startup_seconds=2)),
    ],
)
def test_a_job_stopped_while_starting_ends_stopped_even_if_it_was_going_to_fail(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest, kind: FailureKind
) -> None:
    sagemaker.create_training_job(**job_request("doomed"))
    sagemaker.stop_training_job(TrainingJobName="doomed")
    assert fake.wait("doomed", timeout=10)[0].status == "Stopped"
    described = sagemaker.describe_training_job(TrainingJobName="doomed")
    assert described["TrainingJobStatus"] == "Stopped"
    assert "FailureReason" not in described


@_doomed(FailureKind.ALGORITHM)
def test_a_job_stopped_while_training_ends_stopped_though_its_script_then_exits_with_an_error(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    # The script exits with status 143 on SIGTERM, and the job was fated to fail anyway.
    sagemaker.create_training_job(**job_request("stopped", {"epochs": "50", "sleep": "0.1"}))
    deadline = time.monotonic() + 20
    while sagemaker.describe_training_job(TrainingJobName="stopped")["SecondaryStatus"] != (
        "Training"
    ):
        assert time.monotonic() < deadline, "the job never started training"
        time.sleep(0.05)
    sagemaker.stop_training_job(TrainingJobName="stopped")
    job = fake.wait("stopped", timeout=20)[0]
    described = sagemaker.describe_training_job(TrainingJobName="stopped")
    assert job.status == "Stopped" and described["TrainingJobStatus"] == "Stopped"
    assert "FailureReason" not in described
    assert described["BillableTimeInSeconds"] >= 1  # billed up to the stop
