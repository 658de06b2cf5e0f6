"""SageMakerBackend's own promises beyond the contract: paging, rate limits, errors."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.errors import BackendError, UserError
from byohpo.trial import JobStatus, LaunchRequest

from .conftest import FAST_RETRIES, script_job, write_script
from .test_retry import StepClock

pytest.importorskip("moto")

from byohpo.fake import FakeSageMaker


@pytest.fixture
def fake(tmp_path: Path) -> Iterator[FakeSageMaker]:
    with FakeSageMaker(
        instant=True, metrics_fn=lambda hp: {"acc": 0.5}, retry=FAST_RETRIES
    ) as backend:
        backend.open("paging", script_job(write_script(tmp_path / "code")))
        yield backend


def other_backend(fake: FakeSageMaker, **options: Any) -> SageMakerBackend:
    backend = SageMakerBackend(session=fake.aws.session(), retry=FAST_RETRIES, **options)
    backend.open(fake.study_name, fake.job)
    return backend


def test_a_large_study_is_listed_page_by_page_but_a_poll_lists_only_running_jobs(
    fake: FakeSageMaker,
) -> None:
    names = [fake.submit(LaunchRequest(trial, {})) for trial in range(1, 131)]
    fake.aws.wait(*names)
    other = other_backend(fake, list_calls_per_second=None)
    jobs = other.list_study_jobs()
    assert [j.trial_id for j in jobs] == list(range(1, 131))
    assert other.api_calls["ListTrainingJobs"] == 2  # pages of 100
    other.poll([names[-1]])
    assert other.api_calls["ListTrainingJobs"] == 3  # one page: no job is running
    other.poll([names[0]])
    assert other.api_calls["ListTrainingJobs"] == 4  # the oldest costs no more than the newest
    assert other.api_calls["DescribeTrainingJob"] == 2  # each ended job described once


def test_list_calls_keep_to_the_rate_limit(fake: FakeSageMaker) -> None:
    clock = StepClock()  # virtual time: it moves only when the backend sleeps
    other = other_backend(fake, clock=clock, list_calls_per_second=2.0)
    for _ in range(3):
        other.list_study_jobs()
    assert other.api_calls["ListTrainingJobs"] == 3
    assert clock.sleeps == [0.5, 0.5]


def test_stopping_a_job_that_already_ended_is_no_error(fake: FakeSageMaker) -> None:
    name = fake.submit(LaunchRequest(1, {}))
    fake.aws.wait(name)
    other = other_backend(fake)  # knows nothing of the job yet
    other.stop(name)
    assert other.poll([name])[0].status is JobStatus.COMPLETED


def test_an_unknown_job_is_a_backend_error(fake: FakeSageMaker) -> None:
    with pytest.raises(BackendError, match="DescribeTrainingJob paging-t00099") as refused:
        fake.poll([fake.job_name(99)])
    # what a caller can act on without parsing the message
    assert refused.value.operation == "DescribeTrainingJob"
    assert refused.value.job_name == fake.job_name(99)
    assert refused.value.code == "ValidationException"


def test_curves_of_a_job_that_has_not_logged_yet_are_empty(fake: FakeSageMaker) -> None:
    assert fake.read_curves(fake.job_name(5)) == {}


def test_a_backend_without_a_region_says_how_to_set_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in ("AWS_DEFAULT_REGION", "AWS_REGION", "AWS_CONFIG_FILE"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    session = boto3.Session(aws_access_key_id="x", aws_secret_access_key="y")
    backend = SageMakerBackend(session=session)
    with pytest.raises(UserError, match="AWS_DEFAULT_REGION"):
        backend.open("s", script_job(write_script(tmp_path / "code")))


def test_nothing_is_created_before_a_study_opens() -> None:
    backend = SageMakerBackend()
    with pytest.raises(RuntimeError, match="No study is open"):
        backend.poll(["x"])
