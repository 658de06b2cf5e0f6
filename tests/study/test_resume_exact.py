"""A study cut off at any line of its log resumes to exactly the decisions of one never cut.

The strategy's state is checkpointed now and then, not written with every event: a
resume restores the last checkpoint and replays what the strategy was asked and told
after it. Cutting the log at every few lines (right after a checkpoint, between two,
before the first) and resuming each cut must give the uninterrupted study's trials.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest

import byohpo
from byohpo.study import _checkpoints as checkpoints
from byohpo.study._store import Store, StudyLog

METRIC = "validation:accuracy"
SPACE = byohpo.SearchSpace(
    {
        "x": byohpo.Continuous(0.0, 1.0),
        "units": byohpo.Integer(16, 512, scaling="log"),
        "kind": byohpo.Categorical(["a", "b"]),
    }
)


def metrics(hp: Mapping[str, Any]) -> dict[str, float]:
    return {METRIC: float(hp["x"]) - abs(int(hp["units"]) - 100) / 1000}


def job() -> byohpo.TrainingJob:
    return byohpo.TrainingJob(
        entry_point=None,
        image_uri="123456789012.dkr.ecr.us-east-1.amazonaws.com/train:1",
        role="arn:aws:iam::123456789012:role/SageMakerRole",
        output_path="s3://bucket/studies",
        metric_definitions={METRIC: r"acc=([0-9\.]+)"},
    )


def simulator() -> byohpo.Simulator:
    return byohpo.Simulator(metrics, duration=600.0, duration_sigma=0.0, seed=0)


def decisions(log: StudyLog) -> list[tuple[int, int, dict[str, str], int | None]]:
    return [
        (t.trial_id, t.generation, t.hyperparameters, t.duplicate_of)
        for _, t in sorted(log.trials.items())
    ]


@pytest.mark.parametrize(
    ("strategy", "mode", "options"),
    [
        ("ga", "generational", {"population_size": 6}),
        ("random", "async", {}),
    ],
)
def test_every_cut_of_the_log_resumes_to_the_same_decisions(
    tmp_path: Path,
    strategy: str,
    mode: str,
    options: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(checkpoints, "MIN_CHECKPOINT_BYTES", 4096)  # several in a small study
    whole = tmp_path / "whole"
    byohpo.Tuner(
        job(),
        SPACE,
        strategy=strategy,
        strategy_options=options,
        objective=METRIC,
        max_jobs=30,
        max_parallel_jobs=6,
        mode=mode,
        seed=3,
        study_name="exact",
        progress=False,
        store=str(whole),
        backend=simulator(),
    ).run()
    reference = Store(whole).load()
    lines = (whole / "events.jsonl").read_text().splitlines(keepends=True)
    written = [i for i, line in enumerate(lines) if '"event":"strategy"' in line]
    assert len(written) >= 2, "a checkpoint at the start, and some later"
    assert len(written) < len(lines) / 10, "checkpoints are not written with every event"
    cuts = sorted({1, 2, *(c + 1 for c in written), *range(3, len(lines) - 1, 9)})
    for cut in cuts:
        store = tmp_path / f"cut-{cut}"
        store.mkdir()
        (store / "events.jsonl").write_text("".join(lines[:cut]))
        byohpo.Tuner.resume(str(store), backend=simulator(), progress=False)
        assert decisions(Store(store).load()) == decisions(reference), f"cut after line {cut}"
        shutil.rmtree(store)
