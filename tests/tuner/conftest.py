"""A study on the fake in instant mode: the real backend and lifecycle, no script run."""

from __future__ import annotations

import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo

ROLE = "arn:aws:iam::123456789012:role/SageMakerRole"


def quadratic(hp: Mapping[str, Any]) -> dict[str, float]:
    """A smooth objective with its best at x = 0.3, y = 7, kind = 'b'."""
    x, y, kind = float(hp["x"]), int(hp["y"]), hp["kind"]
    score = 1.0 - (x - 0.3) ** 2 - ((y - 7) / 10) ** 2 - (0.0 if kind == "b" else 0.1)
    return {"validation:accuracy": score, "train:seconds": 1.0 + math.log1p(y)}


@pytest.fixture
def space() -> byohpo.SearchSpace:
    return byohpo.SearchSpace(
        {
            "x": byohpo.Continuous(0.0, 1.0),
            "y": byohpo.Integer(1, 10),
            "kind": byohpo.Categorical(["a", "b"]),
            "batch_size": byohpo.Static(32),
        }
    )


@pytest.fixture
def job(tmp_path: Path) -> byohpo.TrainingJob:
    source = tmp_path / "src"
    source.mkdir()
    (source / "train.py").write_text("print('instant mode runs no script')\n")
    return byohpo.TrainingJob(
        entry_point="train.py",
        source_dir=str(source),
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:latest",
        role=ROLE,
        instance_type="ml.m5.large",
        output_path="s3://tuner-tests/output",
        metric_definitions={
            "validation:accuracy": r"Validation-accuracy=([0-9\.\-]+)",
            "train:seconds": r"train:seconds=([0-9\.]+)",
        },
    )


@pytest.fixture
def studies(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    root = tmp_path / "studies"
    monkeypatch.setenv("BYOHPO_STUDIES", str(root))
    return root


def instant_fake(**options: Any) -> byohpo.FakeSageMaker:
    options.setdefault("metrics_fn", quadratic)
    return byohpo.FakeSageMaker(instant=True, min_poll_interval=0.01, **options)


def study(
    job: byohpo.TrainingJob, space: byohpo.SearchSpace, backend: Any, name: str, **options: Any
) -> byohpo.Tuner:
    """A quiet Tuner maximizing validation accuracy, as most tests here want it."""
    options = {"objective": "validation:accuracy", "progress": False, **options}
    return byohpo.Tuner(job, space, backend=backend, study_name=name, **options)
