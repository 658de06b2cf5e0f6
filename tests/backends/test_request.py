"""What the backend sends SageMaker for a trial, and how it reads SageMaker's answers."""

from __future__ import annotations

import io
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from byohpo.backends._base import job_name_for, study_prefix
from byohpo.backends._request import (
    StudyCode,
    create_training_job_request,
    merged_hyperparameters,
    script_mode_hyperparameters,
    state_from_description,
    state_from_summary,
    tag_value,
    trial_id_from_name,
)
from byohpo.backends._source import content_digest, pack_source
from byohpo.errors import JobDefinitionError
from byohpo.job import TrainingJob
from byohpo.trial import JobStatus

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


@pytest.fixture
def job(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> TrainingJob:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('hi')\n")
    return TrainingJob(
        entry_point="train.py",
        source_dir="src",
        image_uri="img:1",
        role=ROLE,
        output_path="s3://bucket/out",
        inputs={"train": "s3://bucket/train"},
        metric_definitions={"acc": r"acc=([0-9.]+)"},
        hyperparameters={"batch_size": 100},
        environment={"A": "1"},
        use_spot=True,
        max_runtime_seconds=600,
        max_wait_seconds=1200,
        checkpoint_s3_uri="s3://bucket/ckpt",
        vpc_config={"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]},
    )


def test_a_trial_becomes_a_create_training_job_request(job: TrainingJob) -> None:
    code = StudyCode("train.py", "s3://bucket/out/s/source/abc/sourcedir.tar.gz")
    script = script_mode_hyperparameters(code, "eu-west-1", 20)
    hps = merged_hyperparameters(job, {"lr": "0.01", "batch_size": "50"}, script, "s-t00001")
    request = create_training_job_request(
        job,
        job_name="s-t00001",
        image="img:1",
        output_path="s3://bucket/out/s",
        hyperparameters=hps,
        tags={"byohpo:study": "s", "byohpo:trial": "1"},
        checkpoint_s3_uri="s3://bucket/ckpt/s-t00001",
    )
    assert request["HyperParameters"] == {
        "batch_size": "50",
        "lr": "0.01",
        "sagemaker_program": '"train.py"',
        "sagemaker_submit_directory": '"s3://bucket/out/s/source/abc/sourcedir.tar.gz"',
        "sagemaker_region": '"eu-west-1"',
        "sagemaker_container_log_level": "20",
        "sagemaker_job_name": '"s-t00001"',
    }
    assert request["AlgorithmSpecification"] == {
        "TrainingImage": "img:1",
        "TrainingInputMode": "File",
        "MetricDefinitions": [{"Name": "acc", "Regex": "acc=([0-9.]+)"}],
    }
    assert request["StoppingCondition"] == {
        "MaxRuntimeInSeconds": 600,
        "MaxWaitTimeInSeconds": 1200,
    }
    assert request["EnableManagedSpotTraining"] is True
    assert request["CheckpointConfig"]["S3Uri"] == "s3://bucket/ckpt/s-t00001"
    assert request["InputDataConfig"][0]["DataSource"]["S3DataSource"]["S3Uri"] == (
        "s3://bucket/train"
    )
    assert request["OutputDataConfig"] == {"S3OutputPath": "s3://bucket/out/s"}
    assert request["VpcConfig"] == {"Subnets": ["subnet-1"], "SecurityGroupIds": ["sg-1"]}
    assert request["Environment"] == {"A": "1"}
    assert {"Key": "byohpo:trial", "Value": "1"} in request["Tags"]


def test_more_than_a_hundred_hyperparameters_in_all_is_refused(job: TrainingJob) -> None:
    tuned = {f"p{i}": "1" for i in range(95)}
    script = script_mode_hyperparameters(StudyCode("train.py", "s3://b/c.tar.gz"), "r", 20)
    with pytest.raises(JobDefinitionError, match="at most 100 hyperparameters in all"):
        merged_hyperparameters(job, tuned, script, "s-t00001")


def test_job_names_parse_back_to_trial_ids() -> None:
    prefix = study_prefix("digits ga")
    assert trial_id_from_name(prefix, job_name_for("digits ga", 42)) == 42
    assert trial_id_from_name(prefix, job_name_for("digits ga", 123456)) == 123456
    assert trial_id_from_name("digits-ga", "digits-ga-t00001-t00002") is None
    assert trial_id_from_name("digits-ga", "digits-ga2-t00001") is None
    assert tag_value("my study (v2)!") == "my study _v2__"


def test_states_are_read_from_summaries_and_descriptions() -> None:
    created = datetime(2024, 5, 1, tzinfo=UTC)
    summary = {
        "TrainingJobName": "s-t00003",
        "TrainingJobStatus": "Stopping",
        "SecondaryStatus": "Stopping",
        "CreationTime": created,
    }
    state = state_from_summary(summary, 3)
    assert state.status is JobStatus.STOPPING and state.status.is_busy
    description = {
        "TrainingJobName": "s-t00004",
        "TrainingJobStatus": "Failed",
        "SecondaryStatus": "Failed",
        "FailureReason": "AlgorithmError: boom",
        "FinalMetricDataList": [{"MetricName": "acc", "Value": 0.5, "Timestamp": created}],
        "BillableTimeInSeconds": 61,
        "TrainingTimeInSeconds": 60,
        "CreationTime": created,
        "TrainingStartTime": created,
        "TrainingEndTime": created,
        "WarmPoolStatus": {"Status": "Available"},
    }
    state = state_from_description(description, 4)
    assert state.failure_reason == "AlgorithmError: boom"
    assert dict(state.metrics) == {"acc": 0.5}
    assert (state.billable_seconds, state.training_seconds) == (61, 60)
    assert state.warm_pool_status == "Available"


def test_the_code_archive_is_deterministic_and_leaves_caches_out(tmp_path: Path) -> None:
    source = tmp_path / "code"
    (source / "pkg" / "__pycache__").mkdir(parents=True)
    (source / "train.py").write_text("print(1)\n")
    (source / "pkg" / "model.py").write_text("X = 1\n")
    (source / "pkg" / "__pycache__" / "model.cpython-311.pyc").write_bytes(b"\0")
    first = pack_source(source)
    (source / "train.py").touch()  # a new mtime changes nothing
    assert pack_source(source) == first
    with tarfile.open(fileobj=io.BytesIO(first), mode="r:gz") as tar:
        assert sorted(tar.getnames()) == ["pkg/model.py", "train.py"]
    (source / "train.py").write_text("print(2)\n")
    assert content_digest(pack_source(source)) != content_digest(first)
    single = pack_source(source / "train.py")
    with tarfile.open(fileobj=io.BytesIO(single), mode="r:gz") as tar:
        assert tar.getnames() == ["train.py"]
