"""A dry run that remembers its data: a fake account's S3 objects and log streams outlive
the fake that held them, as in the cloud."""

from __future__ import annotations

import time
from contextlib import closing
from pathlib import Path
from typing import Any

from byohpo.fake._aws import FakeAWS

from .test_memory import INSTANT, NO_RETRIES, _create


def _log_lines(logs: Any, stream: str) -> list[str]:
    events = logs.get_log_events(
        logGroupName="/aws/sagemaker/TrainingJobs", logStreamName=stream, startFromHead=True
    )["events"]
    return [e["message"] for e in events]


def test_a_restarted_fake_has_the_ended_jobs_objects_and_logs_again(tmp_path: Path) -> None:
    kept: dict[str, Any] = {"journal": tmp_path / "jobs", "kept_data": tmp_path / "data"}
    with FakeAWS(create_buckets=True, **kept, **INSTANT) as fake:
        session = fake.session()
        s3: Any = session.client("s3")
        with closing(session.client("sagemaker", config=NO_RETRIES)) as sagemaker:
            _create(sagemaker, "kept", "0.25")
        fake.wait("kept")
        s3.put_object(Bucket="memory", Key="checkpoints/kept/step.txt", Body=b"step=3")
        s3.put_object(Bucket="memory", Key="scratch/gone.txt", Body=b"deleted before the end")
        fake.save_journal()
        s3.delete_object(Bucket="memory", Key="scratch/gone.txt")
        stream = str(fake.job("kept").log_stream)
        logs: Any = session.client("logs")
        before = _log_lines(logs, stream)
        fake.save_journal()
    assert any("loss=0.25" in line for line in before)

    with FakeAWS(**kept, **INSTANT) as again:
        session = again.session()
        s3 = session.client("s3")
        body = s3.get_object(Bucket="memory", Key="checkpoints/kept/step.txt")["Body"].read()
        keys = [o["Key"] for o in s3.list_objects_v2(Bucket="memory").get("Contents", [])]
        after = _log_lines(session.client("logs"), stream)
    assert body == b"step=3"
    assert "scratch/gone.txt" not in keys, "an object deleted before the save stays deleted"
    assert after == before
    on_disk = sum(f.stat().st_size for f in (tmp_path / "data").rglob("*") if f.is_file())
    assert on_disk < 64_000, "one copy of each small object and log line, no more"


def test_what_changed_after_a_save_is_saved_by_the_next_one(tmp_path: Path) -> None:
    kept: dict[str, Any] = {"journal": tmp_path / "jobs", "kept_data": tmp_path / "data"}
    group, stream = "/aws/sagemaker/TrainingJobs", "job/algo-1-1"
    with FakeAWS(create_buckets=True, **kept, **INSTANT) as fake:
        session = fake.session()
        s3: Any = session.client("s3")
        logs: Any = session.client("logs")
        s3.create_bucket(Bucket="memory")
        logs.create_log_group(logGroupName=group)
        logs.create_log_stream(logGroupName=group, logStreamName=stream)
        for epoch in (1, 2):  # a job checkpoints and logs an epoch, the service saves
            s3.put_object(
                Bucket="memory", Key="checkpoints/step.txt", Body=f"step={epoch}".encode()
            )
            line = {"timestamp": int(time.time() * 1000), "message": f"epoch={epoch}"}
            logs.put_log_events(logGroupName=group, logStreamName=stream, logEvents=[line])
            fake.save_journal()
        assert fake.save_journal() == 0  # nothing changed since: nothing written

    with FakeAWS(**kept, **INSTANT) as again:
        session = again.session()
        body = session.client("s3").get_object(Bucket="memory", Key="checkpoints/step.txt")
        assert body["Body"].read() == b"step=2"
        assert _log_lines(session.client("logs"), stream) == ["epoch=1", "epoch=2"]
