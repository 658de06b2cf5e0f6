"""``--events-queue`` on the command line: a mistake is a one-line error, before any job."""

from __future__ import annotations

from pathlib import Path

import pytest

from byohpo.cli import main

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits-ga.toml"


def test_a_dry_run_with_an_events_queue_sqs_cannot_name_is_refused_and_launches_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    status = main(["run", str(EXAMPLE), "--dry-run", "--events-queue", "my queue!", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "an events queue is named by" in err and "Traceback" not in err
    assert not list((tmp_path / "studies").glob("*/*"))  # no study was started


def test_an_events_queue_that_is_no_queue_url_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    status = main(["run", str(EXAMPLE), "--region", "us-east-1", "--events-queue", "my-queue"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "events_queue must be an SQS queue URL" in err and "JobEventsQueueUrl" in err
