"""A dry run with status by events: the fake publishes its jobs' state changes on moto's
EventBridge, a rule sends them to a queue, and the study learns of ended jobs from it."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import boto3
import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.study._store import MemoryEventLog
from tests.tuner.conftest import ROLE, quadratic

pytest.importorskip("moto")

SPACE = byohpo.SearchSpace(
    {
        "x": byohpo.Continuous(0.0, 1.0),
        "y": byohpo.Integer(1, 10),
        "kind": byohpo.Categorical(["a", "b"]),
    }
)


def template(tmp_path: Path) -> byohpo.TrainingJob:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "train.py").write_text("print('instant mode runs no script')\n")
    return byohpo.TrainingJob(
        entry_point="train.py",
        source_dir=str(source),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest",
        role=ROLE,
        instance_type="ml.m5.large",
        output_path="s3://events-tests/output",
        metric_definitions={"validation:accuracy": r"Validation-accuracy=([0-9\.\-]+)"},
    )


def fake(**options: Any) -> byohpo.FakeSageMaker:
    return byohpo.FakeSageMaker(
        instant=True,
        metrics_fn=quadratic,
        instant_training_seconds=0.2,
        min_poll_interval=0.05,
        **options,
    )


def run(backend: byohpo.FakeSageMaker, tmp_path: Path, name: str) -> Any:
    return byohpo.Tuner(
        template(tmp_path),
        SPACE,
        backend=backend,
        study_name=name,
        objective="validation:accuracy",
        max_jobs=6,
        max_parallel_jobs=3,
        seed=2,
        progress=False,
        store=MemoryEventLog(),
    ).run()


def other_study_s_end() -> str:
    """An event of another study's job, in the same queue (a queue serves one stack)."""
    return json.dumps(
        {
            "detail-type": "SageMaker Training Job State Change",
            "source": "aws.sagemaker",
            "detail": {"TrainingJobName": "events-zzzzzzzz-t00001", "TrainingJobStatus": "Failed"},
        }
    )


def test_a_dry_run_learns_of_ended_jobs_from_the_queue(tmp_path: Path) -> None:
    with fake(events=True, safety_net_seconds=3600) as backend:
        assert backend.events_queue is not None
        sqs = boto3.client("sqs")
        sqs.send_message(QueueUrl=backend.events_queue, MessageBody=other_study_s_end())
        sqs.send_message(QueueUrl=backend.events_queue, MessageBody="not an event")
        result = run(backend, tmp_path, "events")
        calls = backend.api_calls
        table = result.table()
        assert len(table) == 6 and table["status"].eq("Completed").all()
        assert table["validation:accuracy"].notna().all()
        assert calls["DescribeTrainingJob"] == 6  # once per ended job, as when polling
        assert calls["ListTrainingJobs"] <= 1  # the safety net (an hour) never came due
        assert calls["ReceiveMessage"] >= 1 and calls["DeleteMessageBatch"] >= 1
        assert set(table["job_name"]) == {j.name for j in backend.aws.jobs()}  # not the other's


def test_without_events_the_same_dry_run_lists_sagemaker_every_poll(tmp_path: Path) -> None:
    with fake() as backend:
        run(backend, tmp_path, "polling")
        assert backend.api_calls["ListTrainingJobs"] > 3
        assert backend.api_calls["ReceiveMessage"] == 0


SCRIPT = "import random\nprint(f'Validation-accuracy={random.random():.4f}')\n"


def test_a_dry_run_on_a_fake_service_learns_of_ended_jobs_from_its_named_queue(
    tmp_path: Path,
) -> None:
    url = "https://sqs.us-east-1.amazonaws.com/123456789012/byohpo-service-events"
    job = template(tmp_path)
    (tmp_path / "src" / "train.py").write_text(SCRIPT)
    backend = byohpo.FakeSageMaker(
        service=tmp_path / "service",
        events=url,
        safety_net_seconds=3600,
        min_poll_interval=0.05,
    )
    try:
        result = byohpo.Tuner(
            job,
            SPACE,
            backend=backend,
            study_name="service-events",
            objective="validation:accuracy",
            max_jobs=4,
            max_parallel_jobs=2,
            seed=2,
            progress=False,
            store=MemoryEventLog(),
        ).run()
        calls = backend.api_calls
    finally:
        backend.shutdown()
        from byohpo.fake._service_client import stop_service

        stop_service(tmp_path / "service")
    table = result.table()
    assert len(table) == 4 and table["status"].eq("Completed").all()
    assert backend.events_queue is not None and backend.events_queue.endswith(
        "/byohpo-service-events"
    )
    assert calls["ListTrainingJobs"] <= 1  # the safety net (an hour) never came due
    assert calls["ReceiveMessage"] >= 1 and calls["DeleteMessageBatch"] >= 1


def test_an_events_queue_name_sqs_cannot_have_is_refused(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="events queue is named by"):
        byohpo.FakeSageMaker(events="my queue!", service=tmp_path / "service")
