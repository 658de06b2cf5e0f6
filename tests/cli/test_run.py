"""`byohpo run STUDY.toml --dry-run` end to end for every strategy, then the other commands."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from byohpo.cli import main
from byohpo.strategies import STRATEGIES

SCRIPT = """
import argparse, os, pathlib
p = argparse.ArgumentParser()
p.add_argument("--width", type=float)
p.add_argument("--depth", type=int)
p.add_argument("--kind")
p.add_argument("--batch_size", type=int)
a = p.parse_args()
score = 1 - (a.width - 0.25) ** 2 - ((a.depth - 4) / 8) ** 2 - (0 if a.kind == "b" else 0.05)
checkpoints = pathlib.Path(os.environ["SM_CHECKPOINT_DIR"])  # what PBT's next step starts from
checkpoints.mkdir(parents=True, exist_ok=True)
(checkpoints / "score.txt").write_text(str(score))
print(f"Validation-accuracy={score:.6f}")
print(f"train:seconds={0.5 + a.depth / 10:.3f}")
"""

STUDY = """
[study]
name = "{name}"
strategy = "{strategy}"
max_jobs = 24
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
checkpoint_s3_uri = "s3://cli-tests/checkpoints"

[job.metric_definitions]
"validation:accuracy" = 'Validation-accuracy=([-0-9\\.]+)'
"train:seconds" = 'train:seconds=([0-9\\.]+)'

[space]
width = {{ type = "continuous", min = 0.0, max = 1.0 }}
depth = {{ type = "integer", min = 1, max = 8 }}
kind = {{ type = "categorical", values = ["a", "b"] }}
batch_size = {{ type = "static", value = 32 }}
"""


def study_file(tmp_path: Path, strategy: str) -> Path:
    source = tmp_path / "src"
    source.mkdir(exist_ok=True)
    (source / "score.py").write_text(SCRIPT)
    path = tmp_path / f"{strategy}.toml"
    path.write_text(STUDY.format(name=f"cli-{strategy}", strategy=strategy, source=source))
    return path


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    return tmp_path / "studies"


@pytest.mark.parametrize("strategy", sorted(STRATEGIES))
def test_every_strategy_completes_a_24_job_dry_run(
    strategy: str, tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(study_file(tmp_path, strategy)), "--dry-run", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "study ended: max_jobs reached (24 jobs)" in out
    assert main(["results", f"cli-{strategy}", "--format", "json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    paid = [r for r in rows if r["duplicate_of"] is None]
    assert len(paid) == 24
    assert all(r["status"] == "Completed" for r in rows)
    assert all(0.0 <= r["width"] <= 1.0 and 1 <= r["depth"] <= 8 for r in rows)


def test_status_results_and_report_after_a_run(
    tmp_path: Path, studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", str(study_file(tmp_path, "random")), "--dry-run", "--quiet"]) == 0
    capsys.readouterr()
    assert main(["status", "cli-random"]) == 0
    status = capsys.readouterr().out
    assert "Completed: 24" in status and "ended: max_jobs reached" in status
    report = tmp_path / "report.html"
    assert (
        main(["results", str(studies / "cli-random"), "--format", "csv", "--report", str(report)])
        == 0
    )
    csv = capsys.readouterr().out
    assert csv.splitlines()[0].startswith("trial_id,job_name,generation")
    assert len(csv.splitlines()) == 25
    first_job = csv.splitlines()[1].split(",")[1]  # the study's name, its id, the trial
    assert re.fullmatch(r"cli-random-[a-z0-9]{8}-t00000", first_job)
    assert first_job in report.read_text()


def test_an_unknown_study_is_a_user_mistake(
    studies: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["status", "no-such-study"]) == 2
    err = capsys.readouterr().err
    assert "no study found" in err and "Traceback" not in err
