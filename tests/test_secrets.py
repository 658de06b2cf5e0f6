"""Secrets stay out: no credential or secret environment value in anything a study writes."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest

from byohpo._redaction import REDACTED, is_secret
from byohpo.cli import main
from byohpo.errors import UserError
from byohpo.fake import FakeSageMaker
from byohpo.pipeline._step import export_results
from byohpo.study._tuner import Tuner
from tests.pipeline_study import write_study

PROCESS_SECRETS = {
    "AWS_ACCESS_KEY_ID": "AKIAPLANTEDKEY4F1C9E",
    "AWS_SECRET_ACCESS_KEY": "planted-aws-secret-4f1c9e",
    "AWS_SESSION_TOKEN": "planted-session-token-9b2e77",
    "MY_API_TOKEN": "planted-process-token-51d0",
}
JOB_SECRETS = {
    "MY_API_TOKEN": "planted-job-token-c3d5aa",
    "DATABASE_URL": "postgres://app:planted-db-password-e81f@db:5432/app",
}
PLANTED = [*PROCESS_SECRETS.values(), *JOB_SECRETS.values(), "planted-db-password-e81f"]


@pytest.fixture
def planted(monkeypatch: pytest.MonkeyPatch) -> None:
    for name, value in PROCESS_SECRETS.items():
        monkeypatch.setenv(name, value)


@pytest.fixture
def fake(planted: None) -> Iterator[FakeSageMaker]:
    with FakeSageMaker() as fake:
        yield fake


def leaks(text: str) -> list[str]:
    return [secret for secret in PLANTED if secret in text]


def test_a_dry_run_study_writes_no_secret_anywhere(
    fake: FakeSageMaker, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    environment = {**JOB_SECRETS, "LOG_LEVEL": "debug"}
    study = write_study(tmp_path, name="secretive", environment=environment)
    store = tmp_path / "store"
    result = study.make_tuner(backend=fake, store=store, progress=True).run()
    assert result.table()["status"].eq("Completed").all()

    # the job itself still gets its environment: SageMaker must pass it to the script
    sagemaker = boto3.client("sagemaker")
    job_name = str(result.table()["job_name"].iloc[0])
    sent = sagemaker.describe_training_job(TrainingJobName=job_name)["Environment"]
    assert sent["MY_API_TOKEN"] == JOB_SECRETS["MY_API_TOKEN"]
    logs = boto3.client("logs")
    group = "/aws/sagemaker/TrainingJobs"
    log_text = ""
    for stream in logs.describe_log_streams(logGroupName=group)["logStreams"]:
        events = logs.get_log_events(logGroupName=group, logStreamName=stream["logStreamName"])
        log_text += "\n".join(e["message"] for e in events["events"])
    assert "Validation-accuracy=" in log_text

    outputs = {"the study's printed progress": capsys.readouterr().out, "its logs": log_text}
    for command in (["results", str(store), "--format", "csv"], ["status", str(store)]):
        assert main(command) == 0
        outputs[" ".join(command[:1])] = capsys.readouterr().out
    report = tmp_path / "report.html"
    assert main(["results", str(store), "--format", "json", "--report", str(report)]) == 0
    outputs["results --format json"] = capsys.readouterr().out
    outputs["report.html"] = report.read_text()
    for path in export_results(result, tmp_path / "exported"):
        outputs[path.name] = path.read_text()
    for path in sorted(store.rglob("*")):
        if path.is_file():
            outputs[str(path.relative_to(tmp_path))] = path.read_text(errors="replace")
    assert {name: leaks(text) for name, text in outputs.items() if leaks(text)} == {}

    events = map(json.loads, (store / "events.jsonl").read_text().splitlines())
    (recorded,) = [e for e in events if e["event"] == "study"]
    assert recorded["secret_environment"] == ["DATABASE_URL", "MY_API_TOKEN"]
    assert recorded["job"]["environment"] == {
        "MY_API_TOKEN": REDACTED,
        "DATABASE_URL": REDACTED,
        "LOG_LEVEL": "debug",
    }


def test_resuming_needs_the_secret_values_again(
    fake: FakeSageMaker, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    study = write_study(tmp_path, name="secretive", environment=JOB_SECRETS)
    store = tmp_path / "store"
    study.make_tuner(backend=fake, store=store, progress=False, max_jobs=2).run()
    monkeypatch.delenv("MY_API_TOKEN")
    with pytest.raises(UserError, match="DATABASE_URL, MY_API_TOKEN") as refused:
        Tuner.resume(store, backend=fake, progress=False)
    assert "byohpo resume" in str(refused.value) and not leaks(str(refused.value))

    job = study.tuner_args["job"]
    assert Tuner.resume(store, backend=fake, progress=False, job=job).trials == 2
    monkeypatch.setenv("MY_API_TOKEN", "given-again")
    monkeypatch.setenv("DATABASE_URL", "given-again")
    assert Tuner.resume(store, backend=fake, progress=False).trials == 2
    other = job.__class__.from_json({**job.to_json(), "instance_type": "ml.c5.xlarge"})
    with pytest.raises(UserError, match=r"the study.s own job.*instance_type"):
        Tuner.resume(store, backend=fake, progress=False, job=other)


@pytest.mark.parametrize(
    ("name", "value", "secret"),
    [
        ("MY_API_TOKEN", "x", True),
        ("db_password", "x", True),
        ("OPENAI_API_KEY", "x", True),
        ("AWS_SECRET_ACCESS_KEY", "x", True),
        ("GITHUB_AUTH", "x", True),
        ("DATABASE_URL", "postgres://u:p4ss@host/db", True),
        ("KEY_ID", "AKIAABCDEFGHIJKLMNOP", True),
        ("LOG_LEVEL", "debug", False),
        ("DATA_URL", "https://example.com/data.csv", False),
        ("OMP_NUM_THREADS", "4", False),
    ],
)
def test_what_counts_as_secret(name: str, value: str, secret: bool) -> None:
    assert is_secret(name, value) is secret
