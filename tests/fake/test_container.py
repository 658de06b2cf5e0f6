"""The script runs as in SageMaker's framework container: arguments, environment, files, logs."""

from __future__ import annotations

import io
import json
import re
import sys
import tarfile
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

import pytest

from byohpo.fake._aws import FakeAWS
from byohpo.fake._cloudwatch import MetricParser
from byohpo.fake._container import command_args, decode_hyperparameters, interpreter

from .conftest import BUCKET, JobRequest

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

LOG_GROUP = "/aws/sagemaker/TrainingJobs"


def _channel(name: str, prefix: str) -> dict[str, Any]:
    return {
        "ChannelName": name,
        "DataSource": {
            "S3DataSource": {
                "S3DataType": "S3Prefix",
                "S3Uri": f"s3://{BUCKET}/{prefix}",
                "S3DataDistributionType": "FullyReplicated",
            }
        },
        "ContentType": "text/csv",
    }


def _tar_members(s3: S3Client, key: str) -> dict[str, bytes]:
    body = s3.get_object(Bucket=BUCKET, Key=key)["Body"]
    with body, tarfile.open(fileobj=io.BytesIO(body.read()), mode="r:gz") as archive:
        return {
            m.name: archive.extractfile(m).read()  # type: ignore[union-attr]
            for m in archive.getmembers()
            if m.isfile()
        }


def test_the_script_gets_the_toolkit_s_arguments_environment_and_files(
    fake: FakeAWS, sagemaker: SageMakerClient, s3: S3Client, job_request: JobRequest
) -> None:
    s3.put_object(Bucket=BUCKET, Key="data/train/part-0.csv", Body=b"1,2\n")
    s3.put_object(Bucket=BUCKET, Key="data/train/nested/part-1.csv", Body=b"3,4\n")
    s3.put_object(Bucket=BUCKET, Key="data/validation.csv", Body=b"5,6\n")
    sagemaker.create_training_job(
        **job_request(
            "container",
            {"lr": "0.25", "epochs": "2", "optimizer": '"adam"', "layers": "[64, 32]"},
            InputDataConfig=[
                _channel("train", "data/train"),
                _channel("validation", "data/validation.csv"),
            ],
            Environment={"MY_SETTING": "on"},
        )
    )
    job = fake.wait("container")[0]
    assert job.status == "Completed", job.failure_reason
    assert job.work_dir is not None
    seen = json.loads((job.work_dir / "output" / "data" / "seen.json").read_text())
    # Sorted, JSON-decoded where possible, sagemaker_* left out: as the toolkit does.
    assert seen["argv"] == [
        "--epochs", "2", "--layers", "[64, 32]", "--lr", "0.25", "--optimizer", "adam",
    ]  # fmt: skip
    env = seen["env"]
    assert json.loads(env["SM_HPS"]) == {
        "epochs": 2,
        "layers": [64, 32],
        "lr": 0.25,
        "optimizer": "adam",
    }
    assert env["SM_HP_LR"] == "0.25"
    assert env["SM_HP_OPTIMIZER"] == "adam"
    assert json.loads(env["SM_CHANNELS"]) == ["train", "validation"]
    assert seen["channel_files"] == {
        "train": ["nested/part-1.csv", "part-0.csv"],
        "validation": ["validation.csv"],
    }
    root = str(job.work_dir)
    assert env["SM_CHANNEL_TRAIN"] == f"{root}/input/data/train"
    assert env["SM_MODEL_DIR"] == f"{root}/model"
    assert env["SM_OUTPUT_DATA_DIR"] == f"{root}/output/data"
    assert env["SM_OUTPUT_DIR"] == f"{root}/output"
    assert env["SM_CHECKPOINT_DIR"] == f"{root}/checkpoints"
    assert env["SM_NUM_GPUS"] == "0" and int(env["SM_NUM_CPUS"]) >= 1
    assert env["SM_CURRENT_HOST"] == "algo-1"
    assert json.loads(env["SM_HOSTS"]) == ["algo-1"]
    assert env["SM_USER_ENTRY_POINT"] == "train.py"
    assert json.loads(env["SM_TRAINING_ENV"])["hyperparameters"]["lr"] == 0.25
    assert env["TRAINING_JOB_NAME"] == "container"
    assert env["MY_SETTING"] == "on"
    assert "AWS_ACCESS_KEY_ID" not in env  # a dry run's script never gets credentials
    assert seen["cwd"] == f"{root}/code"
    config = job.work_dir / "input" / "config"
    assert json.loads((config / "hyperparameters.json").read_text())["lr"] == "0.25"
    assert json.loads((config / "resourceconfig.json").read_text())["current_host"] == "algo-1"
    assert json.loads((config / "inputdataconfig.json").read_text())["train"] == {
        "TrainingInputMode": "File",
        "S3DistributionType": "FullyReplicated",
        "RecordWrapperType": "None",
        "ContentType": "text/csv",
    }


def test_model_and_output_are_uploaded_as_sagemaker_uploads_them(
    fake: FakeAWS, sagemaker: SageMakerClient, s3: S3Client, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(**job_request("artifacts", {"lr": "0.5", "epochs": "1"}))
    fake.wait("artifacts")
    described = sagemaker.describe_training_job(TrainingJobName="artifacts")
    model_uri = f"s3://{BUCKET}/output/artifacts/output/model.tar.gz"
    assert described["ModelArtifacts"]["S3ModelArtifacts"] == model_uri
    assert _tar_members(s3, "output/artifacts/output/model.tar.gz") == {"model.txt": b"lr=0.5"}
    assert "seen.json" in _tar_members(s3, "output/artifacts/output/output.tar.gz")


def test_checkpoints_are_synced_from_s3_before_and_to_s3_after(
    fake: FakeAWS, sagemaker: SageMakerClient, s3: S3Client, job_request: JobRequest
) -> None:
    s3.put_object(Bucket=BUCKET, Key="checkpoints/member-1/epoch-0.txt", Body=b"0")
    sagemaker.create_training_job(
        **job_request(
            "warm-started",
            {"epochs": "2"},
            CheckpointConfig={"S3Uri": f"s3://{BUCKET}/checkpoints/member-1"},
        )
    )
    job = fake.wait("warm-started")[0]
    assert job.work_dir is not None
    seen = json.loads((job.work_dir / "output" / "data" / "seen.json").read_text())
    assert seen["checkpoint_files"] == ["epoch-0.txt"]  # there before the script started
    listed = s3.list_objects_v2(Bucket=BUCKET, Prefix="checkpoints/member-1/")["Contents"]
    assert sorted(o["Key"] for o in listed) == [
        "checkpoints/member-1/epoch-0.txt",
        "checkpoints/member-1/epoch-1.txt",
        "checkpoints/member-1/epoch-2.txt",
    ]


def test_output_lines_go_to_the_job_s_log_stream_while_it_runs(
    fake: FakeAWS,
    sagemaker: SageMakerClient,
    logs: CloudWatchLogsClient,
    job_request: JobRequest,
    wait: Callable[..., None],
) -> None:
    sagemaker.create_training_job(**job_request("logged", {"epochs": "2", "sleep": "0.6"}))
    wait(lambda: fake.job("logged").log_stream is not None, message="the log stream")
    stream = fake.job("logged").log_stream
    assert stream is not None and re.fullmatch(r"logged/algo-1-\d{10}", stream)

    def messages() -> list[str]:
        events = logs.get_log_events(
            logGroupName=LOG_GROUP, logStreamName=stream, startFromHead=True
        )["events"]
        return [e["message"] for e in events]

    wait(lambda: "started" in messages(), message="the first line")
    assert fake.job("logged").status == "InProgress"  # seen before the job ended
    fake.wait("logged")
    lines = messages()
    assert lines[lines.index("started") + 1 :][:3] == [
        "epoch=1 loss=0.100000 accuracy=0.500000",
        "epoch=2 loss=0.050000 accuracy=0.750000",
        "done",
    ]
    assert any("Invoking user script" in line for line in lines)
    described = logs.describe_log_streams(logGroupName=LOG_GROUP, logStreamNamePrefix="logged")
    assert [s["logStreamName"] for s in described["logStreams"]] == [stream]


def test_metric_definitions_give_the_last_value_seen_of_each_metric(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(
        **job_request(
            "metrics",
            {"epochs": "3", "lr": "0.3"},
            metrics={
                "train:loss": r"loss=([0-9.]+)",
                "accuracy": r"accuracy=([0-9.]+)",
                "no-group": r"loss=[0-9.]+",
                "never": r"never=([0-9.]+)",
            },
        )
    )
    while True:
        described = sagemaker.describe_training_job(TrainingJobName="metrics")
        if described["TrainingJobStatus"] != "InProgress":
            break
        assert "FinalMetricDataList" not in described  # final values come at the end
    final = {m["MetricName"]: m["Value"] for m in described["FinalMetricDataList"]}
    assert final == {"train:loss": pytest.approx(0.1), "accuracy": pytest.approx(0.833333)}
    assert all(
        m["Timestamp"] <= described["TrainingEndTime"] for m in described["FinalMetricDataList"]
    )


def test_metric_values_are_published_to_cloudwatch(
    fake: FakeAWS, sagemaker: SageMakerClient, job_request: JobRequest
) -> None:
    sagemaker.create_training_job(**job_request("published", {"epochs": "2"}))
    fake.wait("published")
    cloudwatch = fake.session().client("cloudwatch")
    try:
        listed = cloudwatch.list_metrics(Namespace="/aws/sagemaker/TrainingJobs")["Metrics"]
    finally:
        cloudwatch.close()
    assert {
        "MetricName": "loss",
        "Dimensions": [{"Name": "Host", "Value": "published/algo-1"}],
    } in [{"MetricName": m["MetricName"], "Dimensions": m["Dimensions"]} for m in listed]


def test_metric_parser_skips_what_sagemaker_skips() -> None:
    parser = MetricParser(
        [{"Name": "loss", "Regex": r"loss=(\S+)"}, {"Name": "acc", "Regex": r"acc=([0-9.]+)"}]
    )
    assert parser.feed("loss=0.5 acc=0.1", 1.0) == [("loss", 0.5), ("acc", 0.1)]
    assert parser.feed("loss=nan", 2.0) == []
    assert parser.feed("loss=abc", 3.0) == []
    assert parser.feed("loss=0.25", 4.0) == [("loss", 0.25)]
    final = parser.final()
    assert list(final) == ["loss", "acc"]
    assert (final["loss"].value, final["loss"].timestamp) == (0.25, 4.0)


def test_arguments_and_interpreters_follow_the_toolkit_s_rules() -> None:
    decoded = decode_hyperparameters({"a": "1", "flag": "true", "name": '"x"', "raw": "x y"})
    assert decoded == {"a": 1, "flag": True, "name": "x", "raw": "x y"}
    assert command_args(decoded) == ["-a", "1", "--flag", "True", "--name", "x", "--raw", "x y"]
    mapping = {"mxnet-training": "/envs/mxnet/bin/python", "*": "/envs/default/bin/python"}
    image = "763104351884.dkr.ecr.us-east-1.amazonaws.com/mxnet-training:1.9.0-cpu-py38"
    assert interpreter(mapping, image) == "/envs/mxnet/bin/python"
    assert interpreter(mapping, "other-image") == "/envs/default/bin/python"
    assert interpreter(None, image) == sys.executable
    assert interpreter("/usr/bin/python3", image) == "/usr/bin/python3"
