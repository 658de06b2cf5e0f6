"""entry_points/digits_mlp.py run as SageMaker runs a training script."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from pathlib import Path
from types import ModuleType
from typing import Any

import joblib
import numpy as np
import pytest

pytestmark = pytest.mark.slow

RunScript = Callable[..., Any]  # the run_script fixture of conftest.py
Job = Any  # what run_script returns (conftest.Job)
ModuleLoader = Callable[[str], ModuleType]  # the entry_point_module fixture
SCRIPT = "digits_mlp.py"
HPS = {"learning_rate": 0.05, "optimizer": "sgd", "batch_size": 64, "hidden_units": 32}


def weights(model_dir: Path) -> list[np.ndarray]:
    model = joblib.load(model_dir / "model.joblib")
    return [*model.coefs_, *model.intercepts_]


@pytest.fixture(scope="module")
def full_run(run_script: RunScript, tmp_path_factory: pytest.TempPathFactory) -> Job:
    """Six uninterrupted epochs on the bundled data."""
    return run_script(SCRIPT, {**HPS, "num_epoch": 6}, tmp_path_factory.mktemp("full"))


@pytest.fixture(scope="module")
def resumed_runs(
    run_script: RunScript, tmp_path_factory: pytest.TempPathFactory
) -> tuple[Job, Job]:
    """Three epochs in one job, then a second job with num_epoch=6 on the same checkpoints."""
    workdir = tmp_path_factory.mktemp("resumed")
    first = run_script(SCRIPT, {**HPS, "num_epoch": 3}, workdir, job_name="digits-001")
    second = run_script(SCRIPT, {**HPS, "num_epoch": 6}, workdir, job_name="digits-002")
    return first, second


def test_a_job_prints_metrics_and_writes_model_and_checkpoint(full_run: Job) -> None:
    assert full_run.returncode == 0, full_run.stderr
    assert full_run.epochs() == [1, 2, 3, 4, 5, 6]
    metrics = full_run.metrics()
    assert set(metrics) == {
        "train:accuracy",
        "train:loss",
        "validation:accuracy",
        "validation:loss",
        "train:seconds",
    }
    assert metrics["validation:accuracy"] > 0.8
    assert 0 < metrics["validation:loss"] < 1
    assert f"Final Validation-accuracy={metrics['validation:accuracy']:.6f}" in full_run.stdout
    assert (full_run.model_dir / "model.joblib").is_file()

    info = json.loads((full_run.checkpoint_dir / "checkpoint.json").read_text())
    assert info["epoch"] == 6
    assert info["origin"] == "local"
    assert info["hyperparameters"] == {
        **HPS,
        "num_epoch": 6,
        "activation": "relu",
        "alpha": 0.0001,
        "momentum": 0.9,
        "seed": 1,
    }
    assert info["metrics"]["Validation-accuracy"] == pytest.approx(metrics["validation:accuracy"])
    assert (full_run.checkpoint_dir / info["state_file"]).is_file()
    assert not list(full_run.checkpoint_dir.glob(".*.tmp"))

    history = json.loads((full_run.output_data_dir / "history.json").read_text())
    assert [epoch["epoch"] for epoch in history["epochs"]] == [1, 2, 3, 4, 5, 6]


def test_metric_lines_are_one_per_line_in_plain_decimals(full_run: Job) -> None:
    lines = [line for line in full_run.stdout.splitlines() if "=" in line]
    assert "Epoch[3] Validation-accuracy=" in full_run.stdout
    for line in lines:
        if line.startswith(("Epoch[", "Final ", "train:seconds=")):
            value = line.rsplit("=", 1)[1]
            assert value.replace(".", "", 1).isdigit(), line


def test_the_channels_of_prepare_data_hold_the_fallback_data(
    run_script: RunScript, entry_point_module: ModuleLoader, full_run: Job, tmp_path: Path
) -> None:
    channels = entry_point_module("prepare_data").write_digits_channels(tmp_path / "data")
    job = run_script(SCRIPT, {**HPS, "num_epoch": 2}, tmp_path, channels=channels)
    assert job.returncode == 0, job.stderr
    assert "Read 1437 training examples" in job.stdout
    assert "Read 360 validation examples" in job.stdout
    epoch_lines = [line for line in job.stdout.splitlines() if line.startswith("Epoch[")]
    assert epoch_lines == [
        line for line in full_run.stdout.splitlines() if line.startswith(("Epoch[1]", "Epoch[2]"))
    ]


def test_a_second_job_resumes_and_ends_where_an_uninterrupted_one_does(
    full_run: Job, resumed_runs: tuple[Job, Job]
) -> None:
    first, second = resumed_runs
    assert first.returncode == 0, first.stderr
    assert second.returncode == 0, second.stderr
    assert first.epochs() == [1, 2, 3]
    assert "Resumed from checkpoint at epoch=3 (origin=digits-001)" in second.stdout
    assert second.epochs() == [4, 5, 6]
    resumed_weights, full_weights = weights(second.model_dir), weights(full_run.model_dir)
    for resumed, uninterrupted in zip(resumed_weights, full_weights, strict=True):
        np.testing.assert_array_equal(resumed, uninterrupted)
    assert second.metrics()["validation:accuracy"] == full_run.metrics()["validation:accuracy"]
    info = json.loads((second.checkpoint_dir / "checkpoint.json").read_text())
    assert (info["epoch"], info["origin"]) == (6, "digits-002")


def test_a_job_whose_checkpoint_has_reached_num_epoch_trains_nothing(
    run_script: RunScript, full_run: Job, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(full_run.checkpoint_dir, checkpoints)
    job = run_script(SCRIPT, {**HPS, "num_epoch": 6}, tmp_path)
    assert job.returncode == 0, job.stderr
    assert "Resumed from checkpoint at epoch=6 (origin=local)" in job.stdout
    assert job.epochs() == []
    assert job.metrics()["validation:accuracy"] == full_run.metrics()["validation:accuracy"]
    assert (job.model_dir / "model.joblib").is_file()


def test_a_warm_start_continues_a_donor_with_new_hyperparameters(
    run_script: RunScript, resumed_runs: tuple[Job, Job], tmp_path: Path
) -> None:
    _, donor = resumed_runs
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(donor.checkpoint_dir, checkpoints)
    job = run_script(
        SCRIPT,
        {**HPS, "learning_rate": 0.02, "num_epoch": 7},
        tmp_path,
        checkpoint_dir=checkpoints,
        job_name="pbt-8",
    )
    assert job.returncode == 0, job.stderr
    assert "Resumed from checkpoint at epoch=6 (origin=digits-002)" in job.stdout
    assert "Changed since the checkpoint: learning_rate 0.05 -> 0.02" in job.stdout
    assert job.epochs() == [7]
    state = joblib.load(checkpoints / "checkpoint.joblib")
    assert (state["epoch"], state["origin"]) == (7, "pbt-8")
    assert state["hyperparameters"]["learning_rate"] == 0.02
    assert state["model"].learning_rate_init == 0.02


def test_a_warm_start_with_another_optimizer_starts_its_state_anew(
    run_script: RunScript, full_run: Job, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(full_run.checkpoint_dir, checkpoints)
    job = run_script(
        SCRIPT, {**HPS, "optimizer": "Adam", "num_epoch": 7}, tmp_path, checkpoint_dir=checkpoints
    )
    assert job.returncode == 0, job.stderr
    assert "optimizer state reset" in job.stdout
    assert job.epochs() == [7]
    assert job.metrics()["validation:accuracy"] > 0.8


def test_the_network_shape_cannot_change_on_resume(
    run_script: RunScript, full_run: Job, tmp_path: Path
) -> None:
    checkpoints = tmp_path / "checkpoints"
    shutil.copytree(full_run.checkpoint_dir, checkpoints)
    job = run_script(
        SCRIPT, {**HPS, "hidden_units": 16, "num_epoch": 8}, tmp_path, checkpoint_dir=checkpoints
    )
    assert job.returncode == 2
    assert "hidden_units=32" in job.stderr and "hidden_units=16" in job.stderr
    assert "hidden_units=16" in (job.output_dir / "failure").read_text()


def test_bad_hyperparameters_fail_the_job_with_a_message(
    run_script: RunScript, tmp_path: Path
) -> None:
    job = run_script(SCRIPT, {"learning_rate": -1, "num_epoch": 2}, tmp_path)
    assert job.returncode == 2
    assert "learning_rate must be > 0" in job.stderr
    assert "Epoch[" not in job.stdout
    failure = (job.output_dir / "failure").read_text()
    assert failure.startswith("bad hyperparameters:") and "learning_rate" in failure


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--learning_rate", "0"], "learning_rate must be > 0"),
        (["--learning_rate", "fast"], "learning_rate must be a number"),
        (["--num_epoch", "ten"], "num_epoch must be an integer"),
        (["--num_epoch", "2.5"], "num_epoch must be an integer"),
        (["--num_epoch", "0"], "num_epoch must be >= 1"),
        (["--optimizer", "rmsprop"], "optimizer must be one of sgd, adam"),
        (["--momentum", "1.5"], "momentum must be >= 0"),
        (["--learning_rat", "0.1"], "unknown argument(s) --learning_rat 0.1"),
        (["--batch_size", "-3"], "batch_size must be >= 1"),
    ],
)
def test_hyperparameter_errors_say_what_must_hold(
    entry_point_module: ModuleLoader,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    message: str,
) -> None:
    digits_mlp = entry_point_module("digits_mlp")
    with pytest.raises(SystemExit) as exit_:
        digits_mlp.parse_args(argv)
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_hyperparameters_are_read_as_sagemaker_passes_them(
    entry_point_module: ModuleLoader,
) -> None:
    digits_mlp = entry_point_module("digits_mlp")
    args = digits_mlp.parse_args(
        ["--learning_rate", "1e-3", "--optimizer", "Adam", "--num_epoch", "20.0", "--epochs", "4"]
    )
    assert (args.learning_rate, args.optimizer, args.num_epoch) == (0.001, "adam", 4)
