"""Fixtures of the fake AWS tests: a running fake, plain boto3 clients, a tiny entry point."""

from __future__ import annotations

import functools
import io
import tarfile
import time
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

import boto3
import pytest
from botocore.config import Config

from byohpo.fake._aws import FakeAWS

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"
BUCKET = "byohpo-fake-tests"
NO_RETRIES = Config(retries={"total_max_attempts": 1, "mode": "standard"})

TRAIN_SCRIPT = r'''
"""A tiny training script driven by its hyperparameters."""
import argparse, json, os, signal, subprocess, sys, time

parser = argparse.ArgumentParser()
parser.add_argument("--epochs", type=int, default=3)
parser.add_argument("--lr", type=float, default=0.1)
parser.add_argument("--sleep", type=float, default=0.0)
parser.add_argument("--fail", default="")
parser.add_argument("--ignore-sigterm", default="no")
parser.add_argument("--spawn-child", default="no")
parser.add_argument("--failure-file", default="")
args, unknown = parser.parse_known_args()

if args.ignore_sigterm == "yes":
    signal.signal(signal.SIGTERM, lambda *_: print("ignoring SIGTERM", flush=True))
else:
    signal.signal(signal.SIGTERM, lambda *_: (print("got SIGTERM", flush=True), sys.exit(143)))

model_dir = os.environ["SM_MODEL_DIR"]
output_dir = os.environ["SM_OUTPUT_DATA_DIR"]
checkpoints = os.environ.get("SM_CHECKPOINT_DIR", "/opt/ml/checkpoints")
seen = {
    "argv": sys.argv[1:],
    "env": {
        k: v for k, v in os.environ.items() if k.startswith(("SM_", "TRAINING_", "AWS_", "MY_"))
    },
    "checkpoint_files": sorted(os.listdir(checkpoints)),
    "channel_files": {
        name: sorted(
            os.path.relpath(os.path.join(root, f), os.environ["SM_CHANNEL_" + name.upper()])
            for root, _, files in os.walk(os.environ["SM_CHANNEL_" + name.upper()])
            for f in files
        )
        for name in json.loads(os.environ["SM_CHANNELS"])
    },
    "cwd": os.getcwd(),
}
with open(os.path.join(output_dir, "seen.json"), "w") as f:
    json.dump(seen, f)
if args.spawn_child == "yes":
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    with open(os.path.join(output_dir, "child.pid"), "w") as f:
        f.write(str(child.pid))
print("started", flush=True)
for epoch in range(1, args.epochs + 1):
    time.sleep(args.sleep)
    print(f"epoch={epoch} loss={args.lr / epoch:.6f} accuracy={1 - 0.5 / epoch:.6f}", flush=True)
    with open(os.path.join(checkpoints, f"epoch-{epoch}.txt"), "w") as f:
        f.write(str(epoch))
if args.failure_file:
    with open("/".join([os.path.dirname(output_dir), "failure"]), "w") as f:
        f.write(args.failure_file)
    sys.exit(3)
if args.fail:
    raise ValueError(args.fail)
with open(os.path.join(model_dir, "model.txt"), "w") as f:
    f.write(f"lr={args.lr}")
print("done", flush=True)
'''


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "fake_options(**options): keyword arguments of the test's FakeAWS"
    )


@pytest.fixture
def fake(request: pytest.FixtureRequest) -> Iterator[FakeAWS]:
    """A running fake; a test changes its options with ``@pytest.mark.fake_options``."""
    options: dict[str, Any] = {"stop_grace_seconds": 1.0, "checkpoint_sync_seconds": 0.2}
    marker = request.node.get_closest_marker("fake_options")
    if marker is not None:
        options.update(marker.kwargs)
    with FakeAWS(**options) as running:
        yield running


@functools.cache
def _session() -> boto3.session.Session:
    """One session for all tests, first made while a fake is active (so its clients talk to
    the fakes); the service models it loads once make clients quick to create."""
    return boto3.session.Session(region_name="us-east-1")


@pytest.fixture
def sagemaker(fake: FakeAWS) -> Iterator[SageMakerClient]:
    client = _session().client("sagemaker", config=NO_RETRIES)
    yield client
    client.close()


@pytest.fixture
def s3(fake: FakeAWS) -> Iterator[S3Client]:
    client = _session().client("s3")
    client.create_bucket(Bucket=BUCKET)
    yield client
    client.close()


@pytest.fixture
def logs(fake: FakeAWS) -> Iterator[CloudWatchLogsClient]:
    client = _session().client("logs")
    yield client
    client.close()


def _sourcedir(files: dict[str, str]) -> bytes:
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


@pytest.fixture
def source_uri(s3: S3Client) -> str:
    """The tiny entry point ``train.py``, packed as the SDK packs a source directory."""
    s3.put_object(
        Bucket=BUCKET, Key="code/sourcedir.tar.gz", Body=_sourcedir({"train.py": TRAIN_SCRIPT})
    )
    return f"s3://{BUCKET}/code/sourcedir.tar.gz"


JobRequest = Callable[..., dict[str, Any]]


@pytest.fixture
def job_request(source_uri: str) -> JobRequest:
    """A CreateTrainingJob request for the tiny script, as the SageMaker SDK would send it."""

    def build(
        name: str,
        hyperparameters: dict[str, str] | None = None,
        metrics: dict[str, str] | None = None,
        **overrides: Any,
    ) -> dict[str, Any]:
        request: dict[str, Any] = {
            "TrainingJobName": name,
            "RoleArn": ROLE,
            "AlgorithmSpecification": {
                "TrainingImage": "683313688378.dkr.ecr.us-east-1.amazonaws.com/"
                "sagemaker-scikit-learn:1.2-1-cpu-py3",
                "TrainingInputMode": "File",
                "MetricDefinitions": [
                    {"Name": k, "Regex": v}
                    for k, v in (
                        metrics if metrics is not None else {"loss": r"loss=([0-9.]+)"}
                    ).items()
                ],
            },
            "HyperParameters": {
                "sagemaker_program": '"train.py"',
                "sagemaker_submit_directory": f'"{source_uri}"',
                **(hyperparameters or {}),
            },
            "OutputDataConfig": {"S3OutputPath": f"s3://{BUCKET}/output"},
            "ResourceConfig": {
                "InstanceType": "ml.m5.large",
                "InstanceCount": 1,
                "VolumeSizeInGB": 10,
            },
            "StoppingCondition": {"MaxRuntimeInSeconds": 600},
        }
        request.update(overrides)
        return request

    return build


def wait_for(
    condition: Callable[[], bool], timeout: float = 20.0, message: str = "condition"
) -> None:
    """Poll until ``condition()`` holds."""
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {message}")
        time.sleep(0.02)


@pytest.fixture
def wait() -> Callable[..., None]:
    return wait_for
