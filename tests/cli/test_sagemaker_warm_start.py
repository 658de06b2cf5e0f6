"""A study file whose ``sagemaker:`` strategy warm-starts from what SageMaker cannot take as
a parent exits 2 before anything is recorded, saying what SageMaker accepts."""

from __future__ import annotations

from pathlib import Path

import pytest

from byohpo.cli import main
from byohpo.study_file import load_study_file
from tests.cli.test_study_files import BASE, edit, write

SAGEMAKER = edit(BASE, 'strategy = "ga"', 'strategy = "sagemaker:bayesian"').replace(
    "population_size = 8", ""
)


@pytest.mark.parametrize(
    ("warm_start", "says"),
    [
        (
            "[" + ", ".join(f'{{ tuning_job = "t{i}" }}' for i in range(6)) + "]",
            "at most 5 parent tuning jobs",
        ),
        ('["gone"]', "must be a tuning job that exists"),
        ('[{ study = "./old" }]', "no study at"),
    ],
)
def test_a_warm_start_sagemaker_cannot_take_exits_2_before_anything_is_recorded(
    warm_start: str,
    says: str,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = edit(SAGEMAKER, "max_jobs = 24", f"max_jobs = 24\nwarm_start = {warm_start}")
    path = write(tmp_path, text)
    monkeypatch.setenv("BYOHPO_STUDIES", str(tmp_path / "studies"))
    status = main(["run", str(path), "--dry-run", "--quiet"])
    err = capsys.readouterr().err
    assert status == 2, err
    assert says in err
    assert "Traceback" not in err
    assert not list((tmp_path / "studies").rglob("events.jsonl"))  # the study never started


def test_the_warm_start_type_is_a_study_file_setting(tmp_path: Path) -> None:
    text = edit(SAGEMAKER, "max_jobs = 24", 'max_jobs = 24\nwarm_start_type = "transfer_learning"')
    tuner = load_study_file(write(tmp_path, text)).make_tuner()
    assert tuner.definition()["strategy_options"] == {
        "algorithm": "bayesian",
        "warm_start_type": "transfer_learning",
    }
    bad = edit(SAGEMAKER, "max_jobs = 24", 'max_jobs = 24\nwarm_start_type = "identical"')
    with pytest.raises(ValueError, match="warm_start_type is one of SageMaker's"):
        load_study_file(write(tmp_path, bad)).make_tuner()
