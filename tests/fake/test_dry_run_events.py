"""Status by events rehearsed from the command line: ``byohpo run --dry-run`` with
``--events-queue`` or the study file's ``[sagemaker] events_queue``."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import closing
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.cli import main
from byohpo.fake._service_client import FAKE_CREDENTIALS, STATE_FILE, find_service, stop_service
from byohpo.study._store import Store

URL = "https://sqs.us-east-1.amazonaws.com/123456789012/byohpo-rehearsal-job-events"

STUDY = """
[study]
name = "rehearsal"
strategy = "random"
max_jobs = 3
max_parallel_jobs = 3
seed = 5

[objective]
metric = "score"

[job]
entry_point = "train.py"
source_dir = "src"
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/rehearsal:1"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
instance_type = "ml.m5.large"
output_path = "s3://rehearsal/output"

[job.metric_definitions]
score = 'score=([0-9\\\\.]+)'

[space]
width = { type = "continuous", min = 0.0, max = 1.0 }
"""


@pytest.fixture
def folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text(
        "import sys\nx = float(sys.argv[sys.argv.index('--width') + 1])\nprint(f'score={x:.4f}')\n"
    )
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    monkeypatch.setenv("BYOHPO_FAKE_IDLE_TIMEOUT", "60")
    yield tmp_path
    for state in tmp_path.rglob(STATE_FILE):
        stop_service(state.parent)


def queues(service: Path) -> dict[str, int]:
    """The fake AWS's SQS queues, by name: how many messages wait in each."""
    endpoint = find_service(service)
    assert endpoint is not None
    sqs: Any = boto3.client(
        "sqs",
        endpoint_url=endpoint.url,
        region_name="us-east-1",
        aws_access_key_id=FAKE_CREDENTIALS["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=FAKE_CREDENTIALS["AWS_SECRET_ACCESS_KEY"],
    )
    with closing(sqs):
        found = {}
        for url in sqs.list_queues().get("QueueUrls", []):
            attributes = sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages"]
            )["Attributes"]
            found[url.rsplit("/", 1)[-1]] = int(attributes["ApproximateNumberOfMessages"])
        return found


@pytest.mark.parametrize("given_by", ["--events-queue", "[sagemaker]"])
def test_a_dry_run_rehearses_status_by_events_with_the_study_s_queue(
    given_by: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = folder / "study.toml"
    if given_by == "[sagemaker]":
        study.write_text(STUDY + f'\n[sagemaker]\nevents_queue = "{URL}"\n')
        args = ["run", str(study), "--dry-run", "--quiet"]
    else:
        study.write_text(STUDY)
        args = ["run", str(study), "--dry-run", "--quiet", "--events-queue", URL]
    status = main(args)
    assert status == 0, capsys.readouterr().err
    log = Store(folder / "studies" / "rehearsal").load()
    assert log.finished is not None
    assert [t.status for t in log.trials.values()] == ["Completed"] * 3
    # the queue of that name was made in the fake AWS, filled by its rule, and read empty
    assert queues(folder / "studies" / "rehearsal" / "fake-aws") == {
        "byohpo-rehearsal-job-events": 0
    }


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ('events_queue = "my-queue"', "events_queue must be an SQS queue URL"),
        (f'events_queue = "{URL}"\nregion = "us-east-1"', "unknown key 'region' in [sagemaker]"),
        ("events_queue = 3", "must be a string"),
    ],
)
def test_a_wrong_sagemaker_table_is_refused_before_any_job(
    table: str, message: str, folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = folder / "study.toml"
    study.write_text(STUDY + f"\n[sagemaker]\n{table}\n")
    status = main(["run", str(study), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert message in err and "sagemaker." in err and "Traceback" not in err
    assert not (folder / "studies").exists() or not list((folder / "studies").glob("*/*"))


def test_resume_listens_to_the_queue_the_study_ran_with(
    folder: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = folder / "study.toml"
    study.write_text(STUDY)
    assert main(["run", str(study), "--dry-run", "--quiet", "--events-queue", URL]) == 0
    log = Store(folder / "studies" / "rehearsal").load()
    assert log.study["events_queue"].endswith("/byohpo-rehearsal-job-events")
    service = folder / "studies" / "rehearsal" / "fake-aws"
    stop_service(service)  # its queue goes with it, as a deleted stack's would
    status = main(["resume", "rehearsal", "--quiet"])  # no --events-queue given again
    assert status == 0, capsys.readouterr().err
    assert queues(service) == {"byohpo-rehearsal-job-events": 0}
