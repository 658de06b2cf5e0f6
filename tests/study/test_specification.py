"""A study's specification: what the Tuner's arguments say is what its store records, and a
resume reads the same study back from that record."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.errors import UserError
from byohpo.study._specification import StudySpecification

RUN = {
    "study_id": "abc123",
    "region": "eu-west-1",
    "backend": "SageMakerBackend",
    "jobs_run_in": "123456789012/eu-west-1",
    "time": 1_800_000_000.0,
}


@pytest.fixture
def job(tmp_path: Path) -> byohpo.TrainingJob:
    (tmp_path / "train.py").write_text("print('never run here')\n")
    return byohpo.TrainingJob(
        entry_point="train.py",
        source_dir=str(tmp_path),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        instance_type="ml.m5.large",
        output_path="s3://specification-tests/output",
        metric_definitions={
            "validation:accuracy": r"Validation-accuracy=([0-9\.]+)",
            "train:seconds": r"train:seconds=([0-9\.]+)",
        },
    )


SPACE = {
    "x": byohpo.Continuous(1e-4, 1.0, scaling="log"),
    "y": byohpo.Integer(1, 10),
    "kind": byohpo.Categorical(["a", "b"]),
}

STUDIES: dict[str, dict[str, Any]] = {
    "one objective, a stopping rule": {
        "strategy": "ga",
        "strategy_options": {"population_size": 6},
        "objective": "validation:accuracy",
        "max_jobs": 12,
        "max_parallel_jobs": 3,
        "max_retries": 0,
        "seed": 11,
        "early_stopping": "median",
        "early_stopping_options": {"read_interval": 90},
    },
    "two objectives, asynchronous, budgets and prices": {
        "strategy": "nsga2",
        "objectives": {"validation:accuracy": "maximize", "train:seconds": "minimize"},
        "mode": "async",
        "max_jobs": 20,
        "max_parallel_jobs": 5,
        "max_runtime": 3600,
        "max_cost": 12.5,
        "prices": {"ml.m5.large": 0.115},
        "study_name": "pareto-1",
    },
}


@pytest.mark.parametrize("arguments", STUDIES.values(), ids=list(STUDIES))
def test_a_recorded_study_reads_back_as_the_same_study(
    job: byohpo.TrainingJob, arguments: dict[str, Any]
) -> None:
    spec = StudySpecification.from_arguments(job, SPACE, **arguments)
    recorded = json.loads(json.dumps(spec.definition(**RUN)))  # as the store keeps it

    again = StudySpecification.from_definition(recorded)

    assert again.definition(**RUN) == recorded
    assert again.budget == spec.budget
    assert again.objectives == spec.objectives
    assert again.mode is spec.mode
    assert again.strategy.name == spec.strategy.name
    assert _rule(again) == _rule(spec)


def _rule(spec: StudySpecification) -> tuple[Any, ...] | None:
    plan = spec.early_stopping
    return plan and (plan.name, plan.options, plan.metric, plan.maximize, plan.read_interval)


def test_the_tuner_records_its_keywords_as_the_specification_does(
    job: byohpo.TrainingJob, tmp_path: Path
) -> None:
    arguments = STUDIES["two objectives, asynchronous, budgets and prices"]
    fake = byohpo.FakeSageMaker()
    tuner = byohpo.Tuner(
        job, SPACE, backend=fake, store=str(tmp_path / "study"), progress=False, **arguments
    )
    recorded = tuner.definition()
    spec = StudySpecification.from_arguments(job, SPACE, **arguments)
    run = {k: recorded[k] for k in RUN}

    assert recorded == spec.definition(**run)
    assert (recorded["max_runtime"], recorded["max_cost"], recorded["mode"]) == (
        3600.0,
        12.5,
        "async",
    )


def test_a_study_recorded_with_a_rule_of_the_users_own_cannot_resume_without_it(
    job: byohpo.TrainingJob,
) -> None:
    recorded = json.loads(
        json.dumps(
            StudySpecification.from_arguments(
                job, SPACE, objective="validation:accuracy"
            ).definition(**RUN)
        )
    )
    recorded["early_stopping"] = "MyRule"
    recorded["early_stopping_options"] = {"metric": "validation:accuracy", "read_interval": 60}

    with pytest.raises(UserError, match="a rule of your own"):
        StudySpecification.from_definition(recorded)


def test_a_study_with_an_events_queue_records_it_and_a_resume_listens_to_it_again(
    job: byohpo.TrainingJob, monkeypatch: pytest.MonkeyPatch
) -> None:
    from byohpo.study._tuner import _recorded_backend

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")  # not the study's region
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/byohpo-pareto-1-job-events"
    spec = StudySpecification.from_arguments(
        job, SPACE, **STUDIES["one objective, a stopping rule"]
    )
    run = {**RUN, "jobs_run_in": "aws"}
    recorded = json.loads(json.dumps(spec.definition(**run, events_queue=queue)))
    backend = _recorded_backend(recorded)
    assert backend is not None
    assert backend.events_queue == queue
    assert backend._open_session().region_name == "eu-west-1"  # the queue's, not the default
    # without a queue the record is what it always was, and a dry run's is not SageMaker's
    assert "events_queue" not in spec.definition(**run)
    assert _recorded_backend({**recorded, "jobs_run_in": "fake-aws"}) is None
