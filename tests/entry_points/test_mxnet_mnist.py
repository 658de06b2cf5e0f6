"""entry_points/mxnet_mnist.py: its arguments without mxnet, its training where mxnet is.

The script needs mxnet 1.9 with numpy < 1.24, an environment of its own (``make mxnet-env``
creates .venv-mxnet). Without that environment only the tests that do not train run.
"""

from __future__ import annotations

import json
import os
import py_compile
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "entry_points" / "mxnet_mnist.py"
MXNET_PYTHON = Path(os.environ.get("MXNET_PYTHON", ROOT / ".venv-mxnet" / "bin" / "python"))

needs_mxnet = pytest.mark.skipif(
    not MXNET_PYTHON.exists(), reason=f"no mxnet environment at {MXNET_PYTHON} (make mxnet-env)"
)


def test_the_script_compiles(tmp_path: Path) -> None:
    py_compile.compile(str(SCRIPT), cfile=str(tmp_path / "mxnet_mnist.pyc"), doraise=True)


def run_without_mxnet(*argv: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run the script with this interpreter, which has no mxnet."""
    clean = {key: value for key, value in os.environ.items() if not key.startswith("SM_")}
    return subprocess.run(
        [sys.executable, str(SCRIPT), *argv],
        env={**clean, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_the_hyperparameters_without_importing_mxnet() -> None:
    completed = run_without_mxnet("--help")
    assert completed.returncode == 0, completed.stderr
    for name in ("--learning_rate", "--num_epoch", "--epochs", "--batch_size", "--optimizer"):
        assert name in completed.stdout
    assert "--momentum" in completed.stdout


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--optimizer", "rmsprop"], "optimizer must be one of sgd, adam"),
        (["--learning_rate", "-0.1"], "learning_rate must be > 0"),
        (["--num_epoch", "many"], "num_epoch must be a number"),
        (["--batch-size", "100"], "unknown argument(s) --batch-size 100"),
    ],
)
def test_bad_hyperparameters_exit_with_a_message(
    tmp_path: Path, argv: list[str], message: str
) -> None:
    completed = run_without_mxnet(*argv, SM_OUTPUT_DIR=str(tmp_path))
    assert completed.returncode == 2
    assert message in completed.stderr
    assert message in (tmp_path / "failure").read_text()


def test_a_job_without_data_says_which_channels_it_needs(tmp_path: Path) -> None:
    completed = run_without_mxnet("--num_epoch", "1", SM_OUTPUT_DIR=str(tmp_path))
    assert completed.returncode == 2
    assert "SM_CHANNEL_TRAIN and SM_CHANNEL_TEST" in completed.stderr


@needs_mxnet
@pytest.mark.slow
def test_it_trains_checkpoints_and_resumes(
    entry_point_module: Callable[[str], Any], run_script: Callable[..., Any], tmp_path: Path
) -> None:
    channels = entry_point_module("prepare_data").write_mnist_channels(tmp_path / "data")
    hps = {"learning_rate": 0.1, "optimizer": "sgd", "batch_size": 100, "num_epoch": 2}
    run = str(MXNET_PYTHON)
    first = run_script("mxnet_mnist.py", hps, tmp_path / "a", channels=channels, python=run)
    assert first.returncode == 0, first.stderr
    assert first.epochs() == [1, 2]
    assert first.metrics()["validation:accuracy"] > 0.5
    for name in ("model-symbol.json", "model-0000.params", "model-shapes.json"):
        assert (first.model_dir / name).is_file()
    info = json.loads((first.checkpoint_dir / "checkpoint.json").read_text())
    assert info["epoch"] == 2

    checkpoints = tmp_path / "b" / "checkpoints"
    shutil.copytree(first.checkpoint_dir, checkpoints)
    second = run_script(
        "mxnet_mnist.py",
        {**hps, "num_epoch": 3, "learning_rate": 0.05},
        tmp_path / "b",
        channels=channels,
        job_name="mnist-2",
        python=run,
    )
    assert second.returncode == 0, second.stderr
    assert "Resumed from checkpoint at epoch=2 (origin=local)" in second.stdout
    assert "Changed since the checkpoint: learning_rate 0.1 -> 0.05" in second.stdout
    assert second.epochs() == [3]
    info = json.loads((checkpoints / "checkpoint.json").read_text())
    assert (info["epoch"], info["origin"]) == (3, "mnist-2")
