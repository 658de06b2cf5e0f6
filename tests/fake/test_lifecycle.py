"""A training job's life in the fake: statuses, stops, limits, failures, cleanup."""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING

import pytest
from botocore.exceptions import ClientError

from byohpo.fake._aws import FakeAWS

from .conftest import JobRequest

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_sagemaker import SageMakerClient


def _log_lines(logs: CloudWatchLogsClient, job_name: str) -> list[str]:
    try:
        streams = logs.describe_log_streams(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamNamePrefix=f"{job_name}/"
        )["logStreams"]
    except logs.exceptions.ResourceNotFoundException:
        return []  # the log group comes with the account's first job log, as on AWS
    return [
        str(event["message"]).strip()
        for stream in streams
        for event in logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs",
            logStreamName=stream["logStreamName"],
            startFromHead=True,
        )["events"]
    ]


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A zombie (dead, not yet reaped by its parent) still answers kill(0).
    state = subprocess.run(["ps", "-o", "stat=", "-p", str(pid)], capture_output=True, text=True)
    return bool(state.stdout.strip()) and not state.stdout.strip().startswith("Z")


@pytest.mark.fake_options(max_concurrent_jobs=1)
def test_a_job_goes_through_the_secondary_statuses_to_completed(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    job_request: JobRequest,
    wait: Callable[..., None],
) -> None:
    # A job holding the only slot keeps lifecycle-1 in Starting until it is stopped: what is
    # seen of lifecycle-1 follows these events, not the machine's speed.
    sagemaker.create_training_job(**job_request("holder", {"epochs": "1", "sleep": "60"}))
    wait(lambda: fake.running_jobs == ["holder"], message="the holder to run")
    arn = sagemaker.create_training_job(**job_request("lifecycle-1"))["TrainingJobArn"]
    assert arn == "arn:aws:sagemaker:us-east-1:123456789012:training-job/lifecycle-1"
    job = sagemaker.describe_training_job(TrainingJobName="lifecycle-1")
    seen = [(job["TrainingJobStatus"], job["SecondaryStatus"])]
    sagemaker.stop_training_job(TrainingJobName="holder")
    fake.wait("lifecycle-1")
    job = sagemaker.describe_training_job(TrainingJobName="lifecycle-1")
    seen.append((job["TrainingJobStatus"], job["SecondaryStatus"]))
    assert seen == [("InProgress", "Starting"), ("Completed", "Completed")]
    transitions = job["SecondaryStatusTransitions"]
    assert [t["Status"] for t in transitions] == [
        "Starting",
        "Downloading",
        "Training",
        "Uploading",
        "Completed",
    ]
    assert all("EndTime" in t and t["StatusMessage"] for t in transitions)
    assert transitions[2]["StatusMessage"].endswith("Training in progress.")
    assert job["CreationTime"] <= job["TrainingStartTime"] <= job["TrainingEndTime"]
    assert job["LastModifiedTime"] >= job["TrainingEndTime"]
    assert job["TrainingTimeInSeconds"] >= 1
    assert job["BillableTimeInSeconds"] == job["TrainingTimeInSeconds"]
    assert job["StoppingCondition"] == {"MaxRuntimeInSeconds": 600}
    assert job["HyperParameters"]["sagemaker_program"] == '"train.py"'
    assert "FailureReason" not in job


def test_a_second_fake_cannot_start_while_one_is_active(fake: FakeAWS) -> None:
    with pytest.raises(RuntimeError, match="already active"):
        FakeAWS().start()
    assert fake.active


def test_a_job_without_an_entry_point_fails_saying_what_is_missing(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    request = job_request("no-program")
    del request["HyperParameters"]["sagemaker_program"]
    sagemaker.create_training_job(**request)
    job = fake.wait("no-program")[0]
    assert job.status == "Failed"
    assert job.failure_reason is not None and "sagemaker_program" in job.failure_reason


def test_stop_training_job_stops_the_script_and_everything_it_started(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    job_request: JobRequest,
    wait: Callable[..., None],
) -> None:
    sagemaker.create_training_job(
        **job_request(
            "to-stop",
            {"epochs": "1", "sleep": "60", "spawn-child": '"yes"'},
            CheckpointConfig={"S3Uri": "s3://byohpo-fake-tests/checkpoints/to-stop"},
        )
    )
    wait(lambda: fake.job("to-stop").pid is not None, message="the script to start")
    job = fake.job("to-stop")
    assert job.work_dir is not None and job.pid is not None
    child_file = job.work_dir / "output" / "data" / "child.pid"
    wait(child_file.exists, message="the child process")
    child = int(child_file.read_text())
    assert _alive(job.pid) and _alive(child)

    assert sagemaker.stop_training_job(TrainingJobName="to-stop")["ResponseMetadata"]
    described = sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == (
        "Stopping",
        "Stopping",
    )
    stopped = fake.wait("to-stop", timeout=10)[0]
    assert stopped.status == "Stopped"
    assert not _alive(job.pid)
    assert not _alive(child)
    described = sagemaker.describe_training_job(TrainingJobName="to-stop")
    assert described["SecondaryStatus"] == "Stopped"
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]][-2:] == [
        "Stopping",
        "Stopped",
    ]
    # SageMaker uploads the model of a stopped job; the script saw SIGTERM first.
    assert described["ModelArtifacts"]["S3ModelArtifacts"].endswith("to-stop/output/model.tar.gz")
    assert "FailureReason" not in described
    with pytest.raises(ClientError) as error:
        sagemaker.stop_training_job(TrainingJobName="to-stop")
    assert error.value.response["Error"]["Code"] == "ValidationException"
    assert error.value.response["Error"]["Message"] == (
        "The request was rejected because the training job is in status Stopped."
    )


def test_a_script_ignoring_sigterm_is_killed_after_the_grace_period(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    logs: CloudWatchLogsClient,
    job_request: JobRequest,
    wait: Callable[..., None],
) -> None:
    sagemaker.create_training_job(
        **job_request("stubborn", {"epochs": "1", "sleep": "60", "ignore-sigterm": '"yes"'})
    )
    # The script prints "started" once its SIGTERM handler is installed.
    wait(lambda: "started" in _log_lines(logs, "stubborn"), message="the script to start")
    sagemaker.stop_training_job(TrainingJobName="stubborn")
    job = fake.wait("stubborn", timeout=10)[0]
    assert job.status == "Stopped"
    assert job.exit_code == 137  # SIGKILL, reported as a shell would
    assert "ignoring SIGTERM" in _log_lines(logs, "stubborn")
    described = sagemaker.describe_training_job(TrainingJobName="stubborn")
    times = {t["Status"]: t["StartTime"] for t in described["SecondaryStatusTransitions"]}
    grace = (times["Stopped"] - times["Stopping"]).total_seconds()
    assert grace >= 0.9  # stop_grace_seconds=1.0, as the fake recorded it


def test_max_runtime_exceeded_stops_the_job(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(
        **job_request(
            "too-long",
            {"epochs": "1", "sleep": "60"},
            StoppingCondition={"MaxRuntimeInSeconds": 1},
        )
    )
    job = fake.wait("too-long", timeout=15)[0]
    described = sagemaker.describe_training_job(TrainingJobName="too-long")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == (
        "Stopped",
        "MaxRuntimeExceeded",
    )
    assert job.stop_cause == "MaxRuntimeInSeconds"
    assert described["SecondaryStatusTransitions"][-1]["StatusMessage"] == (
        "Training job exceeded MaxRuntimeInSeconds provided"
    )
    assert job.pid is not None and not _alive(job.pid)


def test_a_failing_script_fails_the_job_with_the_end_of_its_stderr(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(
        **job_request("fails", {"epochs": "2", "fail": '"learning rate too high"'})
    )
    fake.wait("fails")
    described = sagemaker.describe_training_job(TrainingJobName="fails")
    assert (described["TrainingJobStatus"], described["SecondaryStatus"]) == ("Failed", "Failed")
    reason = described["FailureReason"]
    assert reason.startswith("AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n")
    assert "ValueError: learning rate too high" in reason
    assert reason.endswith('train.py --epochs 2 --fail learning rate too high", exit code: 1')
    assert "ModelArtifacts" not in described
    # Metrics printed before the failure are still reported.
    assert [m["MetricName"] for m in described["FinalMetricDataList"]] == ["loss"]
    assert described["BillableTimeInSeconds"] >= 1


def test_the_failure_file_is_the_failure_reason(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(
        **job_request("failure-file", {"epochs": "1", "failure-file": '"out of patience"'})
    )
    fake.wait("failure-file")
    described = sagemaker.describe_training_job(TrainingJobName="failure-file")
    assert described["FailureReason"] == "AlgorithmError: out of patience"


@pytest.mark.fake_options(max_concurrent_jobs=1)
def test_jobs_beyond_the_concurrency_limit_wait_in_starting(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    job_request: JobRequest,
    wait: Callable[..., None],
) -> None:
    sagemaker.create_training_job(**job_request("first", {"epochs": "1", "sleep": "60"}))
    sagemaker.create_training_job(**job_request("second"))
    wait(lambda: fake.job("first").secondary_status == "Training", message="first to train")
    assert fake.running_jobs == ["first"]
    second = sagemaker.describe_training_job(TrainingJobName="second")
    assert second["SecondaryStatus"] == "Starting"
    assert "TrainingStartTime" not in second
    sagemaker.stop_training_job(TrainingJobName="first")  # frees the only slot
    first, second_done = fake.wait("first", "second")
    assert first.status == "Stopped"
    assert second_done.status == "Completed"
    assert first.end_time is not None and second_done.start_time is not None
    assert second_done.start_time >= first.end_time


@pytest.mark.fake_options(startup_seconds=30)
def test_a_job_stopped_while_starting_never_runs(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(**job_request("never-runs"))
    sagemaker.stop_training_job(TrainingJobName="never-runs")
    job = fake.wait("never-runs", timeout=5)[0]
    described = sagemaker.describe_training_job(TrainingJobName="never-runs")
    assert job.status == "Stopped" and job.pid is None
    assert [t["Status"] for t in described["SecondaryStatusTransitions"]] == [
        "Starting",
        "Stopping",
        "Stopped",
    ]
    for absent in ("TrainingStartTime", "BillableTimeInSeconds", "ModelArtifacts"):
        assert absent not in described


def test_fake_stop_kills_every_job_and_restores_the_environment(
    sagemaker: SageMakerClient,
    fake: FakeAWS,
    job_request: JobRequest,
    wait: Callable[..., None],
) -> None:
    for index in range(2):
        sagemaker.create_training_job(
            **job_request(f"left-running-{index}", {"epochs": "1", "sleep": "60"})
        )
    wait(
        lambda: all(job.pid is not None for job in fake.jobs()) and len(fake.jobs()) == 2,
        message="both scripts to start",
    )
    pids = [job.pid for job in fake.jobs()]
    work_dir = fake.work_dir
    assert work_dir is not None and work_dir.exists()
    fake.stop()
    assert not fake.active
    assert all(pid is not None and not _alive(pid) for pid in pids)
    assert not [t for t in threading.enumerate() if t.name.startswith("byohpo-fake")]
    assert not work_dir.exists()
    assert os.environ.get("AWS_ACCESS_KEY_ID") != "FOOBARKEY"
