"""Inside the pipeline step: a new study runs, a retried step resumes it, results are exported."""

from __future__ import annotations

import json
import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pandas as pd
import pytest

from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.cli import main
from byohpo.errors import StudyFileError
from byohpo.fake import FakeSageMaker
from byohpo.pipeline._definition import PipelineSettings, study_store
from byohpo.pipeline._deploy import (
    pipeline_request,
    schedule_request,
    step_study_text,
)
from byohpo.pipeline._step import best_summary, export_results, run_step
from byohpo.pipeline._study_toml import dump_study
from byohpo.results import StudyResult
from byohpo.study_file import load_study_file
from tests.pipeline_study import accuracy, upload_study, write_study
from tests.test_results import two_objective_study

BUCKET = "byohpo-tests"


@pytest.fixture
def fake() -> Iterator[FakeSageMaker]:
    with FakeSageMaker(instant=True, metrics_fn=accuracy) as fake:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield fake


def step(settings: PipelineSettings, study: Any, out: Path, fake: FakeSageMaker) -> Any:
    return run_step(
        settings.study_file_uri,
        store=study_store(study, settings),
        results_dir=out,
        run_id="exec1",
        backend=fake,
        progress=False,
    )


def test_the_step_runs_a_new_study_and_exports_its_results(
    fake: FakeSageMaker, tmp_path: Path
) -> None:
    study = write_study(tmp_path)
    settings = upload_study(study, boto3.client("s3"))
    result = step(settings, study, tmp_path / "out", fake)
    assert result.name == "tiny-exec1" and result.trials == 4
    assert all(re.fullmatch(r"tiny-exec1-[a-z0-9]{8}-t\d{5}", j.name) for j in fake.aws.jobs())
    table = pd.read_csv(tmp_path / "out" / "results.csv")
    assert list(table["job_name"]) == sorted(j.name for j in fake.aws.jobs())
    best = json.loads((tmp_path / "out" / "best.json").read_text())
    assert best["study"] == "tiny-exec1" and best["finished"] is True
    assert best["best"]["hyperparameters"]["kind"] in ("a", "b")
    assert best["best"]["objective"] == pytest.approx(table["objective"].max())
    store = boto3.client("s3").list_objects_v2(Bucket=BUCKET, Prefix="studies/tiny/store/exec1/")
    segment = re.compile(r"studies/tiny/store/exec1/events/\d{12}\.jsonl")
    keys = [o["Key"] for o in store["Contents"]]  # the log: append-only segments
    assert keys and all(segment.fullmatch(k) for k in keys)


def test_a_retried_step_resumes_the_study_instead_of_starting_over(
    fake: FakeSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = write_study(tmp_path)
    settings = upload_study(study, boto3.client("s3"))
    submit = fake.submit
    submitted: list[str] = []

    def crash_on_the_third(request: Any) -> str:
        if len(submitted) == 2:
            raise RuntimeError("the step's instance went away")
        submitted.append(submit(request))
        return submitted[-1]

    monkeypatch.setattr(fake, "submit", crash_on_the_third)
    with pytest.raises(RuntimeError, match="went away"):
        step(settings, study, tmp_path / "first", fake)
    monkeypatch.setattr(fake, "submit", submit)

    result = step(settings, study, tmp_path / "retry", fake)
    names = [j.name for j in fake.aws.jobs()]
    assert len(names) == len(set(names)) == 4  # none twice
    assert all(re.fullmatch(r"tiny-exec1-[a-z0-9]{8}-t\d{5}", n) for n in names)
    assert submitted == names[:2]
    assert result.trials == 4 and result.is_finished
    assert (tmp_path / "retry" / "best.json").exists()


def test_another_execution_is_another_study(fake: FakeSageMaker, tmp_path: Path) -> None:
    study = write_study(tmp_path)
    settings = upload_study(study, boto3.client("s3"))
    step(settings, study, tmp_path / "one", fake)
    other = run_step(
        settings.study_file_uri,
        store=study_store(study, settings),
        results_dir=tmp_path / "two",
        run_id="exec2",
        backend=fake,
        progress=False,
    )
    assert other.name == "tiny-exec2" and len(fake.aws.jobs()) == 8


class QuickSageMakerBackend(SageMakerBackend):
    """The production backend, polling as often as the fake's jobs (seconds long) need."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, min_poll_interval=0.05, list_calls_per_second=None, **kwargs)


def test_byohpo_pipeline_step_and_byohpo_run_read_the_study_from_s3(
    fake: FakeSageMaker,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # the commands make the production backend, which the active fake answers
    monkeypatch.setattr("byohpo.backends._sagemaker.SageMakerBackend", QuickSageMakerBackend)
    study = write_study(tmp_path)
    settings = upload_study(study, boto3.client("s3"))
    store = study_store(study, settings)
    argv = ["pipeline", "step", settings.study_file_uri, "--store", store, "--quiet"]
    argv += ["--results-dir", str(tmp_path / "out"), "--run-id", "cli1"]
    assert main(argv) == 0
    assert "study tiny-cli1: 4 trials" in capsys.readouterr().out
    assert main(["results", f"{store}/cli1", "--format", "csv"]) == 0
    assert len(capsys.readouterr().out.splitlines()) == 5
    assert main(["run", settings.study_file_uri, "--quiet"]) == 0
    assert "study ended: max_jobs reached" in capsys.readouterr().out


def test_a_study_file_in_s3_names_its_code_in_s3(fake: FakeSageMaker, tmp_path: Path) -> None:
    study = write_study(tmp_path)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="raw.toml", Body=study.path.read_bytes())
    with pytest.raises(StudyFileError, match=r"\[job.source_dir\].*in S3"):
        load_study_file(f"s3://{BUCKET}/raw.toml")
    with pytest.raises(StudyFileError, match="readable in S3"):
        load_study_file(f"s3://{BUCKET}/missing.toml")


def test_the_step_s_study_file_is_the_user_s_with_code_and_store_in_s3(tmp_path: Path) -> None:
    study = write_study(tmp_path, environment={"LOG_LEVEL": "debug"})
    settings = PipelineSettings.from_study(study)
    text = step_study_text(study, settings, "s3://byohpo-tests/studies/tiny/source/abc/x.tar.gz")
    copy = tomllib.loads(text)
    assert copy["job"]["source_dir"] == "s3://byohpo-tests/studies/tiny/source/abc/x.tar.gz"
    assert copy["study"]["store"] == "s3://byohpo-tests/studies/tiny/store"
    assert copy["space"] == study.tables["space"]
    assert copy["job"]["environment"] == {"LOG_LEVEL": "debug"}
    assert text.startswith("# The study tiny as its pipeline step reads it.")


def test_dump_study_round_trips_what_study_files_hold() -> None:
    tables = {
        "study": {"name": "x", "max_jobs": 3, "max_cost": 1.5, "seed": -1, "flag": True},
        "job": {
            "metric_definitions": {"validation:accuracy": 'acc=([0-9\\.]+) "q"'},
            "tags": {},
            "vpc_config": {"Subnets": ["subnet-1"], "SecurityGroupIds": []},
            "note": "tab\there\nnewline é",
        },
        "space": {"lr": {"type": "continuous", "min": 1e-05, "max": 0.3, "scaling": "log"}},
        "prices": {"ml.m5.large": 0.115, "weird key": float("inf")},
    }
    assert tomllib.loads(dump_study(tables)) == tables


def test_deploy_requests_carry_the_definition_and_the_schedule(tmp_path: Path) -> None:
    study = write_study(tmp_path)
    settings = PipelineSettings.from_study(
        study,
        {
            "schedule": "rate(1 day)",
            "scheduler_role": "arn:aws:iam::123456789012:role/byohpo-tiny-scheduler",
        },
    )
    request = pipeline_request(study, settings, {"Version": "2020-12-01", "Steps": []})
    assert request["PipelineName"] == "byohpo-tiny"
    assert request["RoleArn"].endswith(":role/byohpo-tiny-pipeline")
    assert json.loads(request["PipelineDefinition"]) == {"Version": "2020-12-01", "Steps": []}
    arn = "arn:aws:sagemaker:us-east-1:123456789012:pipeline/byohpo-tiny"
    schedule = schedule_request(settings, arn)
    assert schedule["ScheduleExpression"] == "rate(1 day)"
    assert schedule["Target"]["Arn"] == arn
    assert schedule["Target"]["RoleArn"].endswith(":role/byohpo-tiny-scheduler")
    assert "SageMakerPipelineParameters" in schedule["Target"]


def test_best_json_of_several_objectives_is_the_pareto_set(tmp_path: Path) -> None:
    result = StudyResult.from_events(two_objective_study())
    best = best_summary(result)
    assert best["best"] is None
    assert sorted(p["trial_id"] for p in best["pareto"]) == [0, 1, 2, 4]
    assert set(best["pareto"][0]["objectives"]) == {"validation:accuracy", "train:seconds"}
    json.dumps(best)


def test_best_json_says_when_no_trial_completed() -> None:
    events = [e for e in two_objective_study() if e.get("status") != "Completed"]
    best = best_summary(StudyResult.from_events(events))
    assert best["best"] is None and best["pareto"] == []


def test_the_table_is_also_parquet_when_pyarrow_is_installed(tmp_path: Path) -> None:
    pytest.importorskip("pyarrow", reason="Parquet output needs pyarrow (not a dependency)")
    result = StudyResult.from_events(two_objective_study())
    written = export_results(result, tmp_path)
    assert tmp_path / "results.parquet" in written
    assert len(pd.read_parquet(tmp_path / "results.parquet")) == len(result.table())


def test_the_step_reads_job_ends_from_the_study_file_s_events_queue(tmp_path: Path) -> None:
    queue = "byohpo-tiny-job-events"
    with FakeSageMaker(instant=True, metrics_fn=accuracy, events=queue) as fake:
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        path = write_study(tmp_path).path
        url = f"https://sqs.us-east-1.amazonaws.com/123456789012/{queue}"
        path.write_text(path.read_text() + f'\n[sagemaker]\nevents_queue = "{url}"\n')
        study = load_study_file(path)
        settings = upload_study(study, boto3.client("s3"))
        result = run_step(  # no backend given: the step makes SageMaker's, with the queue
            settings.study_file_uri,
            store=study_store(study, settings),
            results_dir=tmp_path / "out",
            run_id="exec1",
            progress=False,
        )
        calls = fake.aws.aws_calls
    assert result.trials == 4 and result.is_finished
    assert calls["sqs.ReceiveMessage"] >= 1 and calls["sqs.DeleteMessageBatch"] >= 1
