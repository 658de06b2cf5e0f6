"""``auto``: which strategy it chooses, that it says why, and that a resumed study keeps it."""

from __future__ import annotations

import json

from byohpo.objectives import Objective
from byohpo.space import Categorical, Continuous, SearchSpace
from byohpo.strategies import (
    AutoStrategy,
    BayesianOptimization,
    DifferentialEvolution,
    make_strategy,
)

from .scenario import LOSS, SECONDS, SPACE, drive, new_state

WIDE = SearchSpace({f"c{i}": Categorical(["a", "b", "c", "d", "e"]) for i in range(10)})


def _auto(
    space: SearchSpace = SPACE, mode: str = "generational", **options: object
) -> AutoStrategy:
    strategy = make_strategy("auto", seed=4, **options)
    assert isinstance(strategy, AutoStrategy)
    strategy.setup(space, [LOSS])
    strategy.set_mode(mode)
    return strategy


def test_a_usual_study_gets_bayesian_optimisation_and_the_record_says_why() -> None:
    strategy = _auto()
    assert isinstance(strategy.strategy, BayesianOptimization)
    assert strategy.options["chosen"] == "bo"
    assert "one objective" in strategy.options["why"]


def test_a_space_too_wide_for_the_model_gets_differential_evolution() -> None:
    strategy = _auto(WIDE)
    assert isinstance(strategy.strategy, DifferentialEvolution)
    assert "50 model features" in strategy.options["why"]


def test_a_large_budget_gets_differential_evolution() -> None:
    strategy = _auto(max_jobs=1000)
    assert strategy.options["chosen"] == "dea"
    assert "max_jobs=1000" in strategy.options["why"]


def test_asynchronous_mode_and_several_objectives_get_bo() -> None:
    assert _auto(WIDE, mode="async").options["chosen"] == "bo"
    strategy = make_strategy("auto")
    strategy.setup(SPACE, [LOSS, SECONDS])
    assert strategy.options["chosen"] == "bo"
    assert "ParEGO" in strategy.options["why"]


def test_the_recorded_choice_is_kept_when_the_study_resumes() -> None:
    donor = _auto(chosen="dea", why="chosen by an earlier version")
    state = drive(donor, new_state(), budget=20, stop_after=7)
    snapshot = json.loads(json.dumps(donor.snapshot()))
    resumed = _auto()  # would choose bo for this space
    resumed.restore(snapshot)
    assert resumed.options == donor.options
    assert isinstance(resumed.strategy, DifferentialEvolution)
    left = drive(donor, json.loads(json.dumps(state)), budget=20)
    right = drive(resumed, json.loads(json.dumps(state)), budget=20)
    assert left["asked"] == right["asked"]


def test_the_choice_rebuilds_from_the_recorded_options() -> None:
    strategy = _auto(SearchSpace({"x": Continuous(0.0, 1.0)}))
    rebuilt = make_strategy("auto", **strategy.options)
    rebuilt.setup(SearchSpace({"x": Continuous(0.0, 1.0)}), [Objective("validation:loss", "min")])
    assert rebuilt.options == strategy.options
