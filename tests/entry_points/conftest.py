"""Helpers for the tests of the training scripts in entry_points/.

The scripts run as SageMaker's framework container runs them: a separate process, the
hyperparameters as command-line arguments, the channels and output directories in ``SM_*``
environment variables.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import pytest

ENTRY_POINTS = Path(__file__).resolve().parents[2] / "entry_points"

# What a user of these scripts passes as the job's metric definitions.
METRIC_DEFINITIONS = {
    "train:accuracy": r"Train-accuracy=([0-9\.]+)",
    "train:loss": r"Train-loss=([0-9\.]+)",
    "validation:accuracy": r"Validation-accuracy=([0-9\.]+)",
    "validation:loss": r"Validation-loss=([0-9\.]+)",
    "train:seconds": r"train:seconds=([0-9\.]+)",
}


@dataclass
class Job:
    """One run of a training script, with its directories and what it printed."""

    returncode: int
    stdout: str
    stderr: str
    model_dir: Path
    checkpoint_dir: Path
    output_dir: Path

    @property
    def output_data_dir(self) -> Path:
        return self.output_dir / "data"

    def metrics(self) -> dict[str, float]:
        """The last value each metric definition matches, as SageMaker reports it."""
        found = {}
        for name, regex in METRIC_DEFINITIONS.items():
            values = re.findall(regex, self.stdout)
            if values:
                found[name] = float(values[-1])
        return found

    def epochs(self) -> list[int]:
        """The epochs that this run trained, in order."""
        numbers = re.findall(r"^Epoch\[(\d+)\] Validation-accuracy=", self.stdout, re.MULTILINE)
        return [int(number) for number in numbers]


RunScript = Callable[..., Job]


def _run(
    script: str,
    hyperparameters: dict[str, object],
    workdir: Path,
    *,
    channels: dict[str, Path] | None = None,
    checkpoint_dir: Path | None = None,
    job_name: str | None = None,
    python: str = sys.executable,
) -> Job:
    model_dir = workdir / "model"
    output_dir = workdir / "output"
    checkpoint_dir = checkpoint_dir or workdir / "checkpoints"
    for directory in (model_dir, output_dir / "data", checkpoint_dir):
        directory.mkdir(parents=True, exist_ok=True)
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("SM_", "TRAINING_JOB_NAME"))
    }
    env.update(
        SM_MODEL_DIR=str(model_dir),
        SM_OUTPUT_DIR=str(output_dir),
        SM_OUTPUT_DATA_DIR=str(output_dir / "data"),
        SM_CHECKPOINT_DIR=str(checkpoint_dir),
        SM_HPS=json.dumps(hyperparameters),
    )
    for name, value in hyperparameters.items():
        env[f"SM_HP_{name.upper()}"] = str(value)
    for name, directory in (channels or {}).items():
        env[f"SM_CHANNEL_{name.upper()}"] = str(directory)
    if job_name:
        env["TRAINING_JOB_NAME"] = job_name
    argv = [python, str(ENTRY_POINTS / script)]
    for name, value in hyperparameters.items():
        argv += [f"--{name}", str(value)]
    completed = subprocess.run(
        argv, cwd=workdir, env=env, capture_output=True, text=True, timeout=120, check=False
    )
    return Job(
        completed.returncode,
        completed.stdout,
        completed.stderr,
        model_dir,
        checkpoint_dir,
        output_dir,
    )


@pytest.fixture(scope="session")
def run_script() -> RunScript:
    """Run a script of entry_points/ as a training job: ``run_script(script, hps, workdir)``."""
    return _run


@pytest.fixture(scope="session")
def entry_point_module() -> Iterator[Callable[[str], ModuleType]]:
    """Import a script of entry_points/ by name, leaving the environment as it was."""
    loaded: dict[str, ModuleType] = {}
    saved_env = dict(os.environ)

    def load(name: str) -> ModuleType:
        if name not in loaded:
            spec = importlib.util.spec_from_file_location(
                f"entry_point_{name}", ENTRY_POINTS / f"{name}.py"
            )
            assert spec is not None and spec.loader is not None
            module = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(module)
            loaded[name] = module
            os.environ.clear()
            os.environ.update(saved_env)
        return loaded[name]

    yield load
