"""A genetic algorithm run asynchronously by the tuner: full slots, exact resume from the log."""

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
    # log-normal job times: results arrive in another order than asked
    return byohpo.Simulator(metrics, duration=600.0, duration_sigma=0.5, seed=0)


def decisions(log: StudyLog) -> list[tuple[int, int, dict[str, str], int | None]]:
    return [
        (t.trial_id, t.generation, t.hyperparameters, t.duplicate_of)
        for _, t in sorted(log.trials.items())
    ]


def tuner(store: Path, options: dict[str, Any]) -> byohpo.Tuner:
    return byohpo.Tuner(
        job(),
        SPACE,
        strategy="ga",
        strategy_options=options,
        objective=METRIC,
        max_jobs=30,
        max_parallel_jobs=5,
        mode="async",
        seed=3,
        study_name="async-ga",
        progress=False,
        store=str(store),
        backend=simulator(),
    )


@pytest.mark.slow
@pytest.mark.parametrize(
    "options",
    [{"population_size": 5}, {"population_size": 3, "islands": 2, "migration_interval": 3}],
    ids=["one-population", "islands"],
)
def test_async_ga_study_resumes_from_any_cut_of_its_log(
    tmp_path: Path, options: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Resume restores the checkpoint, replays the asks and tells after it, and goes on.

    What follows the cut depends on the order the running jobs end in after the
    resume (a bred child comes from the results told so far), so only the trials
    before the cut are pinned; that a restored strategy given the same results
    makes the same decisions is checked in tests/strategies/test_async_evolution.py.
    """
    monkeypatch.setattr(checkpoints, "MIN_CHECKPOINT_BYTES", 4096)  # several in a small study
    whole = tmp_path / "whole"
    result = tuner(whole, options).run()
    assert result.trials == 30
    reference = Store(whole).load()
    lines = (whole / "events.jsonl").read_text().splitlines(keepends=True)
    written = [i for i, line in enumerate(lines) if '"event":"strategy"' in line]
    assert len(written) >= 2
    cuts = sorted({2, *(c + 1 for c in written[:3]), *range(5, len(lines) - 1, 47)})
    for cut in cuts:
        store = tmp_path / f"cut-{cut}"
        store.mkdir()
        (store / "events.jsonl").write_text("".join(lines[:cut]))
        before = decisions(Store(store).load())
        # the replay re-asks every recorded step and raises if a proposal differs
        byohpo.Tuner.resume(str(store), backend=simulator(), progress=False)
        after = decisions(Store(store).load())
        assert after[: len(before)] == before == decisions(reference)[: len(before)]
        assert len(after) == 30, f"cut after line {cut}"
        shutil.rmtree(store)


def test_async_ga_refills_slots_instead_of_waiting_for_the_slowest_job(tmp_path: Path) -> None:
    """The same 40 jobs end sooner (simulated time) when no slot waits for a generation."""
    ended = {}
    for mode in ("generational", "async"):
        sim = simulator()
        byohpo.Tuner(
            job(),
            SPACE,
            strategy="ga",
            strategy_options={"population_size": 5},
            objective=METRIC,
            max_jobs=40,
            max_parallel_jobs=5,
            mode=mode,
            seed=3,
            progress=False,
            store=str(tmp_path / mode),
            backend=sim,
        ).run()
        usage = sim.usage()
        ended[mode] = usage.ended_at - usage.started_at
    assert ended["async"] < 0.8 * ended["generational"]
