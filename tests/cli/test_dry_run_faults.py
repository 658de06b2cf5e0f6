"""`byohpo run --dry-run --faults ...` and `[dry_run.faults]`: a study rehearsed in a storm."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from byohpo.cli import main

SCRIPT = """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--width", type=float)
a, _ = p.parse_known_args()
print(f"Validation-accuracy={1 - (a.width - 0.25) ** 2:.6f}")
"""

STUDY = """
[study]
name = "cli-random"
strategy = "random"
max_jobs = 8
max_parallel_jobs = 4
seed = 5

[objective]
metric = "validation:accuracy"

[job]
entry_point = "score.py"
source_dir = "{source}"
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/score:1"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
instance_type = "ml.m5.large"
output_path = "s3://cli-tests/output"

[job.metric_definitions]
"validation:accuracy" = 'Validation-accuracy=([-0-9\\.]+)'

[space]
width = {{ type = "continuous", min = 0.0, max = 1.0 }}
"""


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    return tmp_path / "studies"


def small_study(tmp_path: Path, faults_table: str = "") -> Path:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text(SCRIPT)
    path = tmp_path / "study.toml"
    path.write_text(STUDY.format(source=source) + faults_table)
    return path


def test_a_dry_run_in_a_storm_retries_what_aws_would_and_loses_nothing(
    tmp_path: Path,
    studies: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # A job's fate in the storm follows its name: the study's id is pinned, so the same jobs
    # fail on every run (a random id could leave every failure retried into a success).
    monkeypatch.setattr("byohpo.study._tuner.new_study_id", lambda: "pinned01")
    study = small_study(tmp_path)
    spec = "throttle=0.3,fail=0.25,capacity=0.1,seed=3"
    assert main(["run", str(study), "--dry-run", "--quiet", "--faults", spec]) == 0
    run = capsys.readouterr()
    assert "dry run under injected faults: throttle=0.3, fail=0.25, capacity=0.1" in run.err
    assert "study ended: max_jobs reached" in run.out
    assert main(["results", "cli-random", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    failed = [r for r in rows if r["status"] == "Failed"]
    assert failed, "a quarter of the jobs fail in this storm"
    assert all(r["failure_reason"] for r in failed)
    assert {r["status"] for r in rows} <= {"Completed", "Failed"}
    assert any(r["status"] == "Completed" for r in rows)
    names = [r["job_name"] for r in rows if r["job_name"]]
    assert len(names) == len(set(names)), "no job paid twice"
    remembered = json.loads((studies / "cli-random" / "fake-aws" / "faults.json").read_text())
    assert remembered["job_failure_rate"] == 0.25  # a service started on resume fails alike


def test_the_study_file_faults_table_is_the_default_storm(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    study = small_study(tmp_path, "\n[dry_run.faults]\nthrottle = 0.2\nseed = 1\n")
    assert main(["run", str(study), "--dry-run", "--quiet"]) == 0
    run = capsys.readouterr()
    assert "dry run under injected faults: throttle=0.2, seed=1" in run.err
    assert "study ended: max_jobs reached" in run.out


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        (["--faults", "throttle=0.3"], "needs --dry-run"),
        (["--dry-run", "--faults", "storm=0.3"], "knows the faults throttle, fail, capacity"),
        (["--dry-run", "--faults", "fail=1.5"], "it must lie between 0 and 1"),
        (["--dry-run", "--faults", "fail=often"], "fail must be a number"),
        (["--dry-run", "--faults", "throttle"], "takes NAME=VALUE pairs"),
        (["--dry-run", "--faults", "seed=1.5"], "seed must be a whole number"),
        (["--dry-run", "--faults", ","], "must name at least one fault"),
    ],
)
def test_faults_that_cannot_be_are_refused_before_anything_starts(
    arguments: list[str],
    message: str,
    tmp_path: Path,
    studies: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["run", str(small_study(tmp_path)), *arguments]) == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err
    assert not (studies / "cli-random").exists(), "nothing was started or recorded"


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ("\n[dry_run.faults]\nthrotle = 0.3\n", "[dry_run.faults] knows the faults"),
        ("\n[dry_run.faults]\ncapacity = -0.1\n", "it must lie between 0 and 1"),
        ('\n[dry_run]\nfaults = "throttle=0.3"\n', "must be a table of fault = fraction"),
    ],
)
def test_a_faults_table_that_cannot_be_is_a_study_file_mistake(
    table: str, message: str, tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(small_study(tmp_path, table)), "--dry-run"]) == 2
    err = capsys.readouterr().err
    assert message in err and "dry_run.faults" in err and "Traceback" not in err
