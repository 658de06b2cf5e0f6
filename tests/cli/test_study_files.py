"""Bad study files: exit 2, a message naming the file, the key and the fix; nothing launched."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from byohpo.cli import main
from byohpo.study_file import load_study_file

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "digits-ga.toml"


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "study.toml"
    text = text.replace(
        'source_dir = "../entry_points"', f'source_dir = "{EXAMPLE.parent.parent / "entry_points"}"'
    )
    path.write_text(text)
    return path


def edit(text: str, old: str, new: str) -> str:
    assert old in text, old
    return text.replace(old, new, 1)


def drop_table(text: str, table: str) -> str:
    return re.sub(rf"^\[{re.escape(table)}\]\n(?:(?!\[).*\n?)*", "", text, flags=re.M)


BASE = EXAMPLE.read_text()

CASES = {
    "missing table": (drop_table(BASE, "space"), "[space]", "Add [space]"),
    "wrong type": (
        edit(BASE, "max_jobs = 24", 'max_jobs = "24"'),
        "[study.max_jobs]",
        "whole number",
    ),
    "unknown key": (
        edit(
            BASE,
            'instance_type = "ml.m5.large"',
            'instance_type = "ml.m5.large"\ninstance_typo = 1',
        ),
        "[job.instance_typo]",
        "Known keys",
    ),
    "unknown strategy": (
        edit(BASE, 'strategy = "ga"', 'strategy = "gaa"'),
        "[study.strategy]",
        "'ga'",
    ),
    "unknown strategy option": (
        edit(BASE, "population_size = 8", "population_sizes = 8"),
        "population_sizes",
        "population_size",
    ),
    "regex without group": (
        edit(BASE, r"'Validation-loss=([0-9\.]+)'", r"'Validation-loss=[0-9\.]+'"),
        "job.metric_definitions",
        "capture group",
    ),
    "objective not a metric": (
        edit(BASE, 'metric = "validation:accuracy"', 'metric = "validation:acc"'),
        "validation:acc",
        "metric definition",
    ),
    "parallel above max": (
        edit(BASE, "max_parallel_jobs = 4", "max_parallel_jobs = 40"),
        "max_parallel_jobs <= max_jobs",
        "Lower max_parallel_jobs",
    ),
    "role not a role ARN": (
        edit(BASE, "arn:aws:iam::123456789012:role/SageMakerRole", "SageMakerRole"),
        "job.role",
        "arn:aws:iam::",
    ),
    "output path not s3": (
        edit(BASE, 's3://byohpo-demo/output"', '/tmp/output"'),
        "job.output_path",
        "s3://",
    ),
    "bad space entry": (
        edit(BASE, "min = 2, max = 12", "min = 12, max = 2"),
        "[space.num_epoch]",
        "min < max",
    ),
    "not toml": ("[study\nname=", "valid TOML", "Fix the syntax"),
    "warm start not a source": (
        edit(BASE, 'strategy = "ga"', 'strategy = "ga"\nwarm_start = [1]'),
        "[study.warm_start]",
        'warm_start=["digits-ga"',
    ),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_a_bad_study_file_exits_2_and_says_where_and_how_to_fix(
    case: str, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    text, where, fix = CASES[case]
    path = write(tmp_path, text)
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    status = main(["run", str(path), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert str(path) in err
    assert where in err
    assert fix in err
    assert "Traceback" not in err
    assert not (tmp_path / "studies").exists()  # nothing recorded, nothing launched


def test_the_example_study_file_reads_cleanly() -> None:
    study = load_study_file(EXAMPLE)
    assert study.name == "digits-ga"
    assert study.tuner_args["strategy_options"] == {"population_size": 8}
    assert study.tuner_args["space"].tunable_names == [
        "learning_rate",
        "num_epoch",
        "hidden_units",
        "optimizer",
    ]


def test_a_warm_start_from_a_study_that_does_not_exist_exits_2_before_any_job(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    path = write(tmp_path, edit(BASE, 'strategy = "ga"', 'strategy = "ga"\nwarm_start = ["gone"]'))
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    status = main(["run", str(path), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert "must be an earlier study or a SageMaker tuning job that exists" in err
    assert "'gone'" in err
    assert "Traceback" not in err
    assert not list((tmp_path / "studies").rglob("events.jsonl"))  # the study never started


def test_a_warm_start_directory_is_relative_to_the_study_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    text = edit(
        BASE,
        'strategy = "ga"',
        'strategy = "ga"\nwarm_start = ["old/digits-ga", "digits-ga", { tuning_job = "t" }]',
    )
    path = write(tmp_path, text)
    monkeypatch.chdir(tmp_path.parent)  # run from elsewhere: the directory is still found
    sources = load_study_file(path).tuner_args["warm_start"]
    assert sources == [str(tmp_path / "old" / "digits-ga"), "digits-ga", {"tuning_job": "t"}]
