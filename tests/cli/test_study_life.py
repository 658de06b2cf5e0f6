"""A study's life from the command line: list, delete, run again, and stopping before money goes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from byohpo.cli import main
from byohpo.cli._run_summary import fit_to_terminal
from byohpo.results import StudyResult
from byohpo.study._store import Store

SCRIPT = """
import argparse
p = argparse.ArgumentParser()
p.add_argument("--width", type=float)
a = p.parse_args()
{body}
"""
PRINTS = 'print("step 1 of 1")\nprint(f"Validation-accuracy={1 - (a.width - 0.3) ** 2:.6f}")'
CRASHES = 'raise SystemExit("no training data in /opt/ml/input/data/train")'

STUDY = """
[study]
name = "{name}"
max_jobs = {max_jobs}
max_parallel_jobs = 2
seed = 3

[objective]
metric = "validation:accuracy"

[job]
entry_point = "score.py"
source_dir = "src"
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/score:1"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
instance_type = "ml.m5.large"
output_path = "s3://life-tests/output"

[job.metric_definitions]
"validation:accuracy" = '{regex}'

[space]
width = {{ type = "continuous", min = 0.0, max = 1.0 }}
"""
REGEX = r"Validation-accuracy=([0-9\.]+)"


def study_file(
    tmp_path: Path, name: str, *, body: str = PRINTS, regex: str = REGEX, max_jobs: int = 4
) -> Path:
    (tmp_path / "src").mkdir(exist_ok=True)
    (tmp_path / "src" / "score.py").write_text(SCRIPT.format(body=body))
    path = tmp_path / f"{name}.toml"
    path.write_text(STUDY.format(name=name, max_jobs=max_jobs, regex=regex))
    return path


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    return tmp_path / "studies"


def jobs_created(studies: Path, name: str) -> int:
    return sum(t.submitted for t in Store(studies / name).load().trials.values())


def test_a_regex_that_never_matches_stops_after_the_first_completed_jobs(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    typo = r"Validation_accuracy=([0-9\.]+)"
    path = study_file(tmp_path, "typo", regex=typo, max_jobs=12)
    status = main(["run", str(path), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert status == 1, err
    assert "never printed the objective" in err and "Traceback" not in err
    assert typo in err  # the regex ...
    assert "| Validation-accuracy=" in err  # ... beside what the job printed
    assert jobs_created(studies, "typo") <= 4  # not the 12 of the budget


def test_a_crashing_script_is_reported_once_with_advice_that_works(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = study_file(tmp_path, "crash", body=CRASHES, max_jobs=6)
    assert main(["run", str(path), "--dry-run"]) == 1
    captured = capsys.readouterr()
    both = captured.out + captured.err
    assert both.count("no training data in /opt/ml/input/data/train") == 1, both
    assert "byohpo resume crash" in captured.err
    # The advice works: fix the script, resume.
    study_file(tmp_path, "crash", max_jobs=6)
    assert main(["resume", "crash", "--quiet"]) == 0
    result = StudyResult.load(studies / "crash")
    assert result.best_config()["width"] == pytest.approx(result.best_config()["width"])
    assert (result.table()["status"] == "Completed").sum() >= 2


def test_list_run_again_under_a_new_name_and_delete(
    tmp_path: Path,
    studies: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = study_file(tmp_path, "life")
    assert main(["run", str(path), "--dry-run", "--quiet"]) == 0
    capsys.readouterr()

    assert main(["run", str(path), "--dry-run", "--quiet"]) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and f"byohpo run {path} --name life-2" in err

    assert main(["run", str(path), "--dry-run", "--quiet", "--name", "life-2"]) == 0
    capsys.readouterr()

    assert main(["list"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert lines[0].split() == ["STUDY", "STATUS", "BEST", "JOBS", "COST"]
    rows = {line.split()[0]: line for line in lines[1:3]}
    assert set(rows) == {"life", "life-2"}
    assert "finished" in rows["life"] and " 4 " in rows["life"] and "$0.00" in rows["life"]
    best = StudyResult.load(studies / "life").best()["objective"]
    assert f"{best:.6g}" in rows["life"]

    monkeypatch.setattr("sys.stdin", None)
    assert main(["delete", "life"]) == 2  # nobody to ask: --yes is needed
    assert "--yes" in capsys.readouterr().err
    assert (studies / "life").exists()
    assert main(["delete", "life", "--yes"]) == 0
    out = capsys.readouterr().out
    assert "SageMaker's training jobs" in out and "not touched" in out
    assert not (studies / "life").exists() and (studies / "life-2").exists()
    assert main(["status", "life"]) == 2


def test_a_study_that_never_created_a_job_starts_over_when_its_file_runs_again(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = study_file(tmp_path, "restart")
    # What a study whose first CreateTrainingJob was refused leaves: a definition, no job.
    (studies / "restart").mkdir(parents=True)
    bad = {"event": "study", "name": "restart", "instance_type": "ml.m5.large", "time": 0.0}
    (studies / "restart" / "events.jsonl").write_text(json.dumps(bad) + "\n")
    refused = "stopped: SageMaker refused CreateTrainingJob: ValidationException"
    finished = {"event": "finished", "reason": refused, "time": 1.0}
    with (studies / "restart" / "events.jsonl").open("a") as log:
        log.write(json.dumps(finished) + "\n")
    assert main(["resume", "restart"]) == 2  # would send the refused request again
    err = capsys.readouterr().err
    assert "SageMaker refused it" in err and "ValidationException" in err
    assert "run it again with `byohpo run STUDY.toml`" in err

    assert main(["run", str(path), "--dry-run", "--quiet"]) == 0
    captured = capsys.readouterr()
    assert "never created a job; starting it over" in captured.err
    assert jobs_created(studies, "restart") == 4
    assert list((studies / "restart").glob("events.abandoned-*.jsonl"))


def test_the_final_table_fits_the_terminal_and_names_the_rest(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.test_first_hour import simulated_study

    result = simulated_study(studies, "wide", max_jobs=30)
    text, note = fit_to_terminal(result, result.table(), 60)
    assert max(len(line) for line in text.splitlines()) <= 60
    assert text.splitlines()[0].split()[:4] == ["trial_id", "generation", "status", "objective"]
    assert len(text.splitlines()) == 21  # the header and the best 20
    assert "the best 20 of 30 trials" in note and "byohpo results wide" in note


def test_status_names_the_jobs_in_flight_and_how_to_collect_them(
    studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from tests.cli.test_first_hour import simulated_study

    simulated_study(studies, "flying", max_jobs=4)
    events = [e for e in Store(studies / "flying").load().events if e["event"] != "finished"]
    asked = next(e for e in events if e["event"] == "asked")
    spec = {**asked["trials"][0], "trial_id": 9, "job_name": "flying-t00009"}
    events += [
        {"event": "asked", "trials": [spec]},
        {"event": "submitted", "trial_id": 9, "job_name": "flying-t00009"},
    ]
    (studies / "flying" / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    assert main(["status", "flying"]) == 0
    out = capsys.readouterr().out
    assert "jobs in flight (1):" in out and "trial 9: flying-t00009 (InProgress)" in out
    assert "`byohpo resume flying` collects them" in out


def test_the_final_table_shows_parent_id_when_trials_continue_others() -> None:
    from tests.test_results import digits_study

    result = StudyResult.from_events(digits_study())  # trial 3 continues trial 2
    text, _ = fit_to_terminal(result, result.table(), 200)
    header = text.splitlines()[0].split()
    assert header[:4] == ["trial_id", "generation", "parent_id", "status"]
    row = next(line.split() for line in text.splitlines()[1:] if line.split()[0] == "3")
    assert row[2] == "2"
