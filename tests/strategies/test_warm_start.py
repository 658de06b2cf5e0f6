"""Warm start, on every registered strategy: earlier results told before the first ask."""

from __future__ import annotations

import json
import random

import pytest

from byohpo.errors import StrategyError
from byohpo.strategies import PriorTrial

from .scenario import SPACE, build, drive, metrics, new_state

IGNORE_RESULTS = {"random", "pbt"}
"""Strategies whose decisions do not learn from trials they did not run."""


def _earlier(count: int = 12) -> list[PriorTrial]:
    """Completed trials of an earlier study of the same problem."""
    rng = random.Random(0)
    trials = []
    while len(trials) < count:
        config = SPACE.sample(rng)
        result = metrics(config)
        if result is not None:
            trials.append(PriorTrial(config, result))
    return trials


def test_a_strategy_uses_earlier_results_and_then_runs_as_usual(name: str) -> None:
    warm, cold = build(name), build(name)
    used = warm.warm_start(_earlier())
    if name in IGNORE_RESULTS:
        assert used == 0
        return
    assert used > 0
    warm_run = drive(warm, new_state(), budget=12)
    cold_run = drive(cold, new_state(), budget=12)
    assert warm_run["asked"][:4] != cold_run["asked"][:4]  # the earlier results steer it
    for config in warm_run["asked"]:
        SPACE.validate(config)


def test_a_warm_started_strategy_resumes_from_its_snapshot_exactly(name: str) -> None:
    original = build(name)
    original.warm_start(_earlier())
    snapshot = json.loads(json.dumps(original.snapshot()))  # as written to the log
    restored = build(name)
    restored.restore(snapshot)
    assert drive(restored, new_state(), budget=12) == drive(original, new_state(), budget=12)


def test_a_population_is_seeded_with_the_best_earlier_trials() -> None:
    earlier = _earlier(12)
    strategy = build("ga", population_size=4)
    assert strategy.warm_start(earlier) == 4
    best = sorted(earlier, key=lambda t: t.metrics["validation:loss"])[:4]
    first = strategy.ask(4)
    state = strategy.snapshot()
    population = [
        SPACE.from_unit(state["individuals"][i]["candidate"][: SPACE.dimension])
        for i in state["population"]
    ]
    assert [SPACE.hyperparameters(c) for c in population] == [
        SPACE.hyperparameters(t.config) for t in best
    ]
    # so its first generation, bred from them, beats the earlier study's average
    losses = [m["validation:loss"] for c in first if (m := metrics(c)) is not None]
    assert sum(losses) / len(losses) < sum(t.metrics["validation:loss"] for t in earlier) / 12


def test_warm_start_comes_before_the_first_ask() -> None:
    for name in ("ga", "optuna:tpe"):
        strategy = build(name)
        strategy.ask(2)
        with pytest.raises(StrategyError, match="before the first ask"):
            strategy.warm_start(_earlier())
