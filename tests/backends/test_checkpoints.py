"""Warm starts: a completed job's checkpoint copied, verified, to where the next job starts."""

from __future__ import annotations

import textwrap
import time
from collections.abc import Collection, Iterator
from pathlib import Path

import pytest

from byohpo.errors import BackendError, JobDefinitionError
from byohpo.job import TrainingJob
from byohpo.trial import JobState, LaunchRequest

from .conftest import FAST_RETRIES, ROLE

pytest.importorskip("moto")

from byohpo.fake import FakeSageMaker

SCRIPT = textwrap.dedent(
    """
    import argparse, os, pathlib, time
    p = argparse.ArgumentParser()
    p.add_argument("--save", type=int, default=1)
    p.add_argument("--seconds", type=float, default=0.0)
    a = p.parse_args()
    directory = pathlib.Path(os.environ["SM_CHECKPOINT_DIR"])
    found = sorted(str(f.relative_to(directory)) for f in directory.rglob("*") if f.is_file())
    print("found " + " ".join(found), flush=True)
    time.sleep(a.seconds)
    if a.save:
        (directory / "nested").mkdir(parents=True, exist_ok=True)
        (directory / "weights.bin").write_bytes(os.environ["TRAINING_JOB_NAME"].encode() * 100)
        (directory / "nested" / "state.json").write_text("{}")
    print("acc=0.5")
    """
)
BUCKET = "checkpoint-tests"


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSageMaker]:
    source = tmp_path / "code"
    source.mkdir()
    (source / "train.py").write_text(SCRIPT)
    job = TrainingJob(
        entry_point="train.py",
        source_dir=str(source),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/byohpo-tests:1",
        role=ROLE,
        output_path=f"s3://{BUCKET}/output",
        checkpoint_s3_uri=f"s3://{BUCKET}/checkpoints",
        metric_definitions={"acc": r"acc=([0-9\.]+)"},
    )
    with FakeSageMaker(retry=FAST_RETRIES, min_poll_interval=0.05) as backend:
        backend.open("warm", job)
        yield backend


def run(fake: FakeSageMaker, trial: int, checkpoint: str | None = None, **hp: object) -> str:
    name = fake.submit(LaunchRequest(trial, {k: str(v) for k, v in hp.items()}, checkpoint))
    wait(fake, [name])
    return name


def wait(fake: FakeSageMaker, names: Collection[str]) -> list[JobState]:
    deadline = time.monotonic() + 60
    while True:
        states = fake.poll(names)
        if all(s.status.is_terminal for s in states):
            return states
        assert time.monotonic() < deadline
        fake.clock.sleep(0.05)


def listing(fake: FakeSageMaker, prefix: str) -> dict[str, bytes]:
    s3 = fake.aws.session().client("s3")
    keys = s3.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", [])
    return {
        k["Key"][len(prefix) :]: s3.get_object(Bucket=BUCKET, Key=k["Key"])["Body"].read()
        for k in keys
    }


def test_a_completed_jobs_checkpoint_is_copied_whole_and_the_next_job_starts_from_it(
    fake: FakeSageMaker,
) -> None:
    parent = run(fake, 1)
    child = fake.job_name(2)
    before = fake.api_calls.copy()
    copy = fake.copy_checkpoint(parent, child)
    spent = fake.api_calls - before
    assert copy.source_uri == f"s3://{BUCKET}/checkpoints/{parent}"
    assert copy.target_uri == f"s3://{BUCKET}/checkpoints/{child}"
    assert copy.keys == ("nested/state.json", "weights.bin")
    assert spent == {"DescribeTrainingJob": 1, "ListObjectsV2": 2, "CopyObject": 2}
    source = listing(fake, f"checkpoints/{parent}/")
    assert listing(fake, f"checkpoints/{child}/") == source
    assert fake.copy_checkpoint(parent, child) == copy  # copying again is harmless
    run(fake, 2, copy.target_uri, save=0)
    log = fake.aws.session().client("logs")
    stream = fake.aws.job(child).log_stream
    lines = [
        e["message"]
        for e in log.get_log_events(
            logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream
        )["events"]
    ]
    assert "found nested/state.json weights.bin" in lines


def test_only_an_ended_job_with_a_checkpoint_can_be_a_parent(fake: FakeSageMaker) -> None:
    running = fake.submit(LaunchRequest(1, {"seconds": "30"}))
    with pytest.raises(BackendError, match="only a Completed or Stopped job"):
        fake.copy_checkpoint(running, fake.job_name(3))
    fake.stop(running)
    empty = run(fake, 2, save=0)
    with pytest.raises(JobDefinitionError, match="SM_CHECKPOINT_DIR"):
        fake.copy_checkpoint(empty, fake.job_name(4))
    assert listing(fake, f"checkpoints/{fake.job_name(4)}/") == {}


def test_a_template_without_checkpoint_location_cannot_warm_start(
    fake: FakeSageMaker, tmp_path: Path
) -> None:
    parent = run(fake, 1)
    job = fake.job
    fake.open("cold", TrainingJob.from_json({**job.to_json(), "checkpoint_s3_uri": None}))
    with pytest.raises(JobDefinitionError, match="checkpoint_s3_uri"):
        fake.copy_checkpoint(parent, fake.job_name(2))
