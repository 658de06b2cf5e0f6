"""Injected faults: as often as asked, the same for the same seed, reported as SageMaker does."""

from __future__ import annotations

from contextlib import closing
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from byohpo._clock import VirtualClock
from byohpo.errors import UserError
from byohpo.fake._aws import FakeAWS
from byohpo.fake._faults import FailureKind, FaultInjector, Faults

from .conftest import NO_RETRIES, JobRequest

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient


def _throttled(sagemaker: SageMakerClient, calls: int) -> list[int]:
    throttled = []
    for index in range(calls):
        try:
            sagemaker.list_training_jobs()
        except ClientError as error:
            assert error.response["Error"]["Code"] == "ThrottlingException"
            assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 400
            throttled.append(index)
    return throttled


@pytest.mark.fake_options(faults=Faults(seed=7, throttle_rate=0.3))
def test_a_fraction_of_calls_is_throttled_the_same_way_for_the_same_seed(
    fake: FakeAWS, sagemaker: SageMakerClient
) -> None:
    first = _throttled(sagemaker, 300)
    assert 60 <= len(first) <= 120
    assert fake.api_calls["ListTrainingJobs"] == 300  # throttled calls are counted too
    fake.stop()
    with FakeAWS(faults=Faults(seed=7, throttle_rate=0.3)) as again:
        client = again.session().client("sagemaker", config=sagemaker.meta.config)
        with closing(client):
            assert _throttled(client, 300) == first


@pytest.mark.fake_options(faults=Faults(throttle_rate=1.0))
def test_botocore_retries_throttled_calls_as_against_aws(fake: FakeAWS) -> None:
    with closing(fake.session().client("sagemaker")) as sagemaker, pytest.raises(ClientError):
        sagemaker.list_training_jobs()
    assert fake.api_calls["ListTrainingJobs"] > 1  # the default retry policy tried again


def test_rate_limits_throttle_bursts_and_refill_with_time() -> None:
    clock = VirtualClock()
    faults = Faults(rate_limits={"ListTrainingJobs": 2.0})
    with FakeAWS(faults=faults, clock=clock.now) as fake:
        client = fake.session().client("sagemaker", config=NO_RETRIES)
        with closing(client):
            assert _throttled(client, 6) == [2, 3, 4, 5]  # a burst of 2, then refused
            clock.sleep(0.4)  # not yet a whole call's worth of refill
            assert _throttled(client, 1) == [0]
            clock.sleep(0.6)  # 2 calls a second: at least one allowed again
            assert _throttled(client, 1) == []


@pytest.mark.fake_options(faults=Faults(capacity_error_rate=1.0))
def test_capacity_errors_refuse_the_job(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**job_request("no-capacity"))
    assert error.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert "for training job usage" in error.value.response["Error"]["Message"]
    assert fake.jobs() == []


@pytest.mark.fake_options(instance_quota={"ml.m5.large": 1}, startup_seconds=30)
def test_the_instance_quota_counts_busy_jobs(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(**job_request("holds-the-instance"))
    with pytest.raises(ClientError) as error:
        sagemaker.create_training_job(**job_request("over-quota"))
    assert error.value.response["Error"]["Code"] == "ResourceLimitExceeded"
    assert error.value.response["Error"]["Message"].startswith(
        "The account-level service limit 'ml.m5.large for training job usage' is 1 Instances, "
        "with current utilization of 1 Instances and a request delta of 1 Instances."
    )
    sagemaker.stop_training_job(TrainingJobName="holds-the-instance")
    fake.wait("holds-the-instance")
    sagemaker.create_training_job(**job_request("fits-now"))


def _failing(kind: FailureKind) -> pytest.MarkDecorator:
    return pytest.mark.fake_options(faults=Faults(job_failure_rate=1.0, job_failure_kinds=(kind,)))


@pytest.mark.parametrize(
    ("reason", "billed"),
    [
        pytest.param(
            "InternalServerError: We encountered an internal error. Please try again.",
            True,
            marks=_failing(FailureKind.INTERNAL),
        ),
        pytest.param(
            "CapacityError: Unable to provision requested ML compute capacity.",
            False,
            marks=_failing(FailureKind.CAPACITY),
        ),
        pytest.param(
            "AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n",
            True,
            marks=_failing(FailureKind.ALGORITHM),
        ),
    ],
)
def test_injected_job_failures_read_as_sagemaker_s(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    job_request: JobRequest,
    reason: str,
    billed: bool,
) -> None:
    sagemaker.create_training_job(**job_request("doomed", {"epochs": "1"}))
    fake.wait("doomed")
    described = sagemaker.describe_training_job(TrainingJobName="doomed")
    assert described["TrainingJobStatus"] == "Failed"
    assert described["FailureReason"].startswith(reason)
    assert ("BillableTimeInSeconds" in described) is billed
    assert "ModelArtifacts" not in described


@pytest.mark.fake_options(faults=Faults(missing_metrics_rate=1.0))
def test_missing_metrics_leave_a_completed_job_without_final_metrics(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(**job_request("silent", {"epochs": "1"}))
    assert fake.wait("silent")[0].status == "Completed"
    described = sagemaker.describe_training_job(TrainingJobName="silent")
    assert "FinalMetricDataList" not in described


@pytest.mark.fake_options(faults=Faults(slow_start_rate=1.0, slow_start_seconds=2.0))
def test_slow_starts_keep_a_job_starting_longer(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(**job_request("slow", {"epochs": "1"}))
    # No sleep: however loaded the machine, the job cannot have left Starting yet.
    assert sagemaker.describe_training_job(TrainingJobName="slow")["SecondaryStatus"] == "Starting"
    job = fake.wait("slow")[0]
    assert job.start_time is not None
    assert (job.start_time - job.creation_time).total_seconds() >= 2.0


def test_job_fates_depend_only_on_the_seed_and_the_name() -> None:
    faults = Faults(seed=3, job_failure_rate=0.2, missing_metrics_rate=0.1)
    names = [f"study-t{i:05d}" for i in range(2000)]
    fates = [FaultInjector(faults).fate(name) for name in names]
    failing = sum(fate.failure is not None for fate in fates)
    assert 320 <= failing <= 480
    assert 140 <= sum(fate.metrics_missing for fate in fates) <= 260
    reversed_order = FaultInjector(faults)
    assert [reversed_order.fate(n) for n in reversed(names)][::-1] == fates
    other_seed = FaultInjector(Faults(seed=4, job_failure_rate=0.2)).fate
    assert [other_seed(n).failure for n in names] != [fate.failure for fate in fates]
    kinds = {fate.failure for fate in fates if fate.failure is not None}
    assert kinds == set(FailureKind)


@pytest.mark.parametrize(
    "options",
    [{"throttle_rate": 1.5}, {"slow_start_seconds": -1.0}, {"rate_limits": {"Search": 0.0}}],
)
def test_impossible_faults_are_refused(options: dict[str, object]) -> None:
    with pytest.raises(UserError):
        Faults(**options)  # type: ignore[arg-type]
