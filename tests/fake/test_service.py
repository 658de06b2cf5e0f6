"""The fake AWS as a service: found again, outlives its parent, answers as the in-process
fake does, idles out, and leaves no process behind."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from byohpo.fake import FakeSageMaker
from byohpo.fake._aws import FakeAWS
from byohpo.fake._service_client import (
    ServiceEnvironment,
    find_service,
    process_alive,
    read_state,
    start_service,
    stop_service,
)

from .conftest import ROLE, TRAIN_SCRIPT, _sourcedir, wait_for

NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})
OPTIONS: dict[str, Any] = {"stop_grace_seconds": 1.0, "checkpoint_sync_seconds": 0.2}


@pytest.fixture
def service_dir(tmp_path: Path) -> Iterator[Path]:
    """A state directory whose service, if any, is ended with the test."""
    directory = tmp_path / "fake-aws"
    yield directory
    stop_service(directory)


def test_a_service_is_found_again_and_outlives_the_process_that_started_it(
    service_dir: Path,
) -> None:
    code = (
        "import sys; from byohpo.fake._service_client import start_service; "
        "print(start_service(sys.argv[1], idle_timeout=60).endpoint.pid)"
    )
    started = subprocess.run(
        [sys.executable, "-c", code, str(service_dir)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    pid = int(started.stdout)
    endpoint = find_service(service_dir)
    assert endpoint is not None and endpoint.pid == pid
    assert endpoint.url.startswith("http://127.0.0.1:")
    again = start_service(service_dir)
    assert again.found and again.endpoint == endpoint
    assert endpoint.status()["pid"] == pid


def _sagemaker_and_s3_contract(session: boto3.session.Session) -> dict[str, Any]:
    """What a user of SageMaker and S3 sees of one job of the tiny script, in plain values."""
    seen: dict[str, Any] = {}
    with (
        closing(session.client("s3")) as s3,
        closing(session.client("sagemaker", config=NO_RETRIES)) as sagemaker,
        closing(session.client("logs")) as logs,
    ):
        s3.create_bucket(Bucket="contract")
        archive = _sourcedir({"train.py": TRAIN_SCRIPT})
        s3.put_object(Bucket="contract", Key="code/sourcedir.tar.gz", Body=archive)
        stored = s3.get_object(Bucket="contract", Key="code/sourcedir.tar.gz")["Body"].read()
        seen["code_kept"] = stored == archive
        request: Any = {
            "TrainingJobName": "contract-job",
            "RoleArn": ROLE,
            "AlgorithmSpecification": {
                "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny:1",
                "TrainingInputMode": "File",
                "MetricDefinitions": [{"Name": "loss", "Regex": r"loss=([0-9.]+)"}],
            },
            "HyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": '"s3://contract/code/sourcedir.tar.gz"',
                "epochs": "2",
            },
            "OutputDataConfig": {"S3OutputPath": "s3://contract/output"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        }
        seen["arn"] = sagemaker.create_training_job(**request)["TrainingJobArn"]
        for call, arguments in (
            (sagemaker.create_training_job, request),
            (sagemaker.describe_training_job, {"TrainingJobName": "no-such-job"}),
        ):
            with pytest.raises(ClientError) as error:
                call(**arguments)
            seen.setdefault("errors", []).append(error.value.response["Error"]["Code"])

        def ended() -> bool:
            job = sagemaker.describe_training_job(TrainingJobName="contract-job")
            return job["TrainingJobStatus"] in ("Completed", "Failed", "Stopped")

        wait_for(ended, timeout=30, message="the job to end")
        job = sagemaker.describe_training_job(TrainingJobName="contract-job")
        seen["status"] = job["TrainingJobStatus"]
        seen["metrics"] = {m["MetricName"]: m["Value"] for m in job["FinalMetricDataList"]}
        seen["transitions"] = [t["Status"] for t in job["SecondaryStatusTransitions"]]
        listed = sagemaker.list_training_jobs(NameContains="contract")["TrainingJobSummaries"]
        seen["listed"] = [(j["TrainingJobName"], j["TrainingJobStatus"]) for j in listed]
        streams = logs.describe_log_streams(logGroupName="/aws/sagemaker/TrainingJobs")
        stream = streams["logStreams"][0]["logStreamName"]
        events = logs.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True
        )["events"]
        seen["log"] = [e["message"] for e in events if e["message"].startswith("epoch=")]
        model = "output/contract-job/output/model.tar.gz"
        seen["model_uploaded"] = s3.head_object(Bucket="contract", Key=model)["ContentLength"] > 0
    return seen


def test_the_service_answers_sagemaker_s3_and_logs_as_the_fake_in_this_process(
    service_dir: Path,
) -> None:
    with FakeAWS(**OPTIONS):
        here = _sagemaker_and_s3_contract(boto3.session.Session(region_name="us-east-1"))
    endpoint = start_service(service_dir, idle_timeout=60, options=OPTIONS).endpoint
    environment = ServiceEnvironment(endpoint.url, "us-east-1")
    environment.apply()
    try:
        served = _sagemaker_and_s3_contract(boto3.session.Session())
    finally:
        environment.restore()
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert served == here
    assert here["status"] == "Completed" and here["code_kept"] and here["model_uploaded"]
    assert here["errors"] == ["ResourceInUse", "ValidationException"]
    assert here["metrics"] == {"loss": pytest.approx(0.05)}
    assert [line.split()[0] for line in here["log"]] == ["epoch=1", "epoch=2"]


def test_a_backend_on_a_service_lets_go_of_it_and_the_service_idles_out(
    service_dir: Path,
) -> None:
    backend = FakeSageMaker(service=service_dir, service_idle_timeout=3.0)
    session = boto3.session.Session(region_name="us-east-1")
    session.client("sagemaker").close()  # its model loaded now: the client below is quick
    with backend:
        assert backend.service is not None and not backend.service.found
        assert os.environ["AWS_ENDPOINT_URL"] == backend.endpoint_url
        with closing(session.client("sagemaker")) as sagemaker:
            assert sagemaker.list_training_jobs()["TrainingJobSummaries"] == []
        pid = backend.service.endpoint.pid
    assert "AWS_ENDPOINT_URL" not in os.environ
    assert process_alive(pid), "letting go of a service does not end it"
    wait_for(lambda: not process_alive(pid), timeout=15, message="the service to idle out")
    state = read_state(service_dir)
    assert state is not None and state.ended_at is not None
    assert state.end_reason is not None and state.end_reason.startswith("idle for 3 s")
    assert find_service(service_dir) is None
    assert not stop_service(service_dir)


@pytest.mark.parametrize("how", ["shutdown", "SIGTERM"])
def test_ending_the_service_kills_its_jobs_and_leaves_no_process(
    how: str, service_dir: Path, tmp_path: Path
) -> None:
    pid_file = tmp_path / "script.pid"
    script = (
        "import os, pathlib, time; "
        f"pathlib.Path({str(pid_file)!r}).write_text(str(os.getpid())); time.sleep(120)"
    )
    endpoint = start_service(service_dir, idle_timeout=60, options=OPTIONS).endpoint
    environment = ServiceEnvironment(endpoint.url, "us-east-1")
    environment.apply()
    try:
        session = boto3.session.Session()
        with closing(session.client("s3")) as s3, closing(session.client("sagemaker")) as sm:
            s3.create_bucket(Bucket="forever")
            archive = _sourcedir({"train.py": script})
            s3.put_object(Bucket="forever", Key="code.tar.gz", Body=archive)
            sm.create_training_job(
                TrainingJobName="forever",
                RoleArn=ROLE,
                AlgorithmSpecification={
                    "TrainingImage": "123456789012.dkr.ecr.us-east-1.amazonaws.com/tiny:1",
                    "TrainingInputMode": "File",
                },
                HyperParameters={
                    "sagemaker_program": '"train.py"',
                    "sagemaker_submit_directory": '"s3://forever/code.tar.gz"',
                },
                OutputDataConfig={"S3OutputPath": "s3://forever/output"},
                ResourceConfig={
                    "InstanceType": "ml.m5.large",
                    "InstanceCount": 1,
                    "VolumeSizeInGB": 10,
                },
                StoppingCondition={"MaxRuntimeInSeconds": 600},
            )
    finally:
        environment.restore()
    wait_for(lambda: pid_file.exists() and pid_file.read_text() != "", timeout=30)
    script_pid = int(pid_file.read_text())
    assert endpoint.status()["running"] == 1
    if how == "shutdown":
        assert stop_service(service_dir)
    else:
        os.kill(endpoint.pid, signal.SIGTERM)
    wait_for(lambda: not process_alive(endpoint.pid), timeout=15, message="the service to end")
    assert not process_alive(script_pid)
    state = read_state(service_dir)
    assert state is not None and state.end_reason == (
        "asked to shut down" if how == "shutdown" else "signal SIGTERM"
    )


def test_a_service_takes_only_plain_options() -> None:
    with pytest.raises(Exception, match="a fake-AWS service takes only the options"):
        FakeSageMaker(service="anywhere", instant=True)
    assert find_service("no-such-directory") is None
    assert not Path("no-such-directory").exists(), "looking for a service creates nothing"
