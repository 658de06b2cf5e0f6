"""``byohpo compare``: one study file, several strategies, one report."""

from __future__ import annotations

import contextlib
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from byohpo.cli import main
from byohpo.cli._compare import render_comparison, run_comparison, summary_table
from byohpo.study_file import load_study_file
from tests.sdk.conftest import instant_fake

REPO = Path(__file__).resolve().parents[2]

STUDY = """
[study]
name = "cmp"
strategy = "ga"
max_jobs = 6
max_parallel_jobs = 2
seed = 5
population_size = 4

[objective]
metric = "validation:accuracy"

[job]
entry_point = "train.py"
source_dir = "src"
image_uri = "123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest"
role = "arn:aws:iam::123456789012:role/SageMakerRole"
instance_type = "ml.m5.large"
output_path = "s3://compare-tests/output"

[job.metric_definitions]
"validation:accuracy" = 'Validation-accuracy=([0-9\\.\\-]+)'

[space]
x = { type = "continuous", min = 0.0, max = 1.0 }
y = { type = "integer", min = 1, max = 10 }
kind = { type = "categorical", values = ["a", "b"] }
"""


@pytest.fixture
def study_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "train.py").write_text("print('instant mode runs no script')\n")
    path = tmp_path / "cmp.toml"
    path.write_text(STUDY)
    return path


def test_each_strategy_and_repeat_is_a_study_of_its_own_and_none_is_paid_twice(
    study_file: Path,
) -> None:
    opened: list[str] = []

    @contextlib.contextmanager
    def backend(location: str, name: str) -> Iterator[Any]:
        opened.append(name)
        yield instant_fake()

    study = load_study_file(study_file)
    strategies = ["ga", "random", "sagemaker:random"]
    compared = run_comparison(study, strategies, repeats=2, backend=backend, progress=False)
    assert [(c.strategy, c.repeat) for c in compared] == [
        (s, r) for s in strategies for r in (0, 1)
    ]
    names = [c.result.name for c in compared]
    assert len(set(names)) == 6 and opened == names
    assert all(c.result.jobs_launched == 6 for c in compared)
    # repeats differ by their seed, so they try different configurations
    random_runs = [c.result.table()["x"].tolist() for c in compared if c.strategy == "random"]
    assert random_runs[0] != random_runs[1]

    again = run_comparison(study, strategies, repeats=2, backend=backend, progress=False)
    assert opened == names  # nothing run again
    assert [c.result.table()["job_name"].tolist() for c in again] == [
        c.result.table()["job_name"].tolist() for c in compared
    ]

    table = summary_table(compared)
    best = table.loc[table["best"].idxmax()]
    assert {"best x", "best y", "best kind"} <= set(table.columns)
    report = render_comparison("cmp", compared)
    for strategy in strategies:
        assert f"<td>{strategy}</td>" in report
    assert re.search(rf"<td>{best['best']:.6g}</td>", report)


@pytest.mark.parametrize(
    ("strategies", "message"),
    [("ga,annealing", "'annealing'"), ("ga,ga", "each strategy once"), ("", "at least one")],
)
def test_a_bad_strategy_list_is_refused_before_any_job(
    study_file: Path, strategies: str, message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["compare", str(study_file), "--strategies", strategies, "--dry-run"])
    assert code == 2
    assert message in capsys.readouterr().err
    assert not (study_file.parent / "studies").exists()


@pytest.mark.slow
def test_compare_writes_one_report_of_a_dry_run(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The example study, smaller: its scripts really run, SageMaker's tuner on the fake."""
    text = (REPO / "examples" / "digits-ga.toml").read_text()
    text = text.replace('source_dir = "../entry_points"', f'source_dir = "{REPO / "entry_points"}"')
    text = re.sub(r"max_jobs = \d+", "max_jobs = 4", text)
    text = re.sub(r"max_parallel_jobs = \d+", "max_parallel_jobs = 2", text)
    text = re.sub(r"population_size = \d+", "population_size = 2", text)
    text = re.sub(
        r"num_epoch = \{[^}]*\}", 'num_epoch = { type = "integer", min = 1, max = 2 }', text
    )
    study = tmp_path / "digits.toml"
    study.write_text(text)
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    report = tmp_path / "report.html"
    code = main(
        ["compare", str(study), "--strategies", "ga,random,sagemaker:bayesian", "--dry-run",
         "--quiet", "--report", str(report)]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    page = report.read_text()
    for strategy in ("ga", "random", "sagemaker:bayesian"):
        assert f"<td>{strategy}</td>" in page
    assert "data:image/png" in page  # best so far against jobs and dollars
    assert "sagemaker:bayesian" in capsys.readouterr().out
