"""Optuna samplers and Nevergrad optimizers as strategies: names, objects, errors, resume."""

from __future__ import annotations

import json

import optuna
import pytest

from byohpo.errors import StrategyError
from byohpo.objectives import Objective
from byohpo.space import Categorical, Continuous, SearchSpace
from byohpo.strategies import NevergradOptimizer, OptunaSampler, make_strategy, strategy_options

from .scenario import SPACE, build, drive, metrics, new_state


def test_a_prefixed_name_runs_the_librarys_algorithm() -> None:
    assert isinstance(make_strategy("optuna:tpe"), OptunaSampler)
    assert make_strategy("optuna:CmaEsSampler").options == {"sampler": "CmaEsSampler"}
    nevergrad = make_strategy("nevergrad:ngopt", budget=50)
    assert isinstance(nevergrad, NevergradOptimizer)
    assert nevergrad.options == {"optimizer": "NGOpt", "budget": 50, "num_workers": None}
    assert "sampler" not in strategy_options("optuna:tpe")


def test_an_unknown_optuna_sampler_is_refused_with_the_nearest_name() -> None:
    with pytest.raises(StrategyError, match=r"'optuna:tpe'\?") as caught:
        make_strategy("optuna:tpee")
    assert isinstance(caught.value, ValueError)
    assert "sampler object" in str(caught.value)


def test_an_unknown_nevergrad_optimizer_is_refused_with_the_nearest_name() -> None:
    with pytest.raises(StrategyError, match=r"'nevergrad:NGOpt'\?"):
        make_strategy("nevergrad:NGOpz")


def test_a_name_without_the_algorithm_is_refused() -> None:
    with pytest.raises(StrategyError, match="optuna:<name>"):
        make_strategy("optuna:")


def test_an_optimizer_that_proposes_one_at_a_time_is_refused_before_any_job() -> None:
    strategy = make_strategy("nevergrad:SPSA", seed=1)
    strategy.setup(SearchSpace({"x": Continuous(0.0, 1.0)}), [Objective("loss", "minimize")])
    with pytest.raises(StrategyError, match="one configuration at a time") as caught:
        strategy.ask(4)
    assert "max_parallel_jobs=1" in str(caught.value)


def test_a_configured_sampler_object_is_used_and_resumed_by_replay() -> None:
    strategy = OptunaSampler(sampler=optuna.samplers.TPESampler(seed=5, n_startup_trials=4))
    strategy.setup(SPACE, [Objective("validation:loss", "minimize")])
    state = drive(strategy, new_state(), budget=20, stop_after=9)
    snapshot = json.loads(json.dumps(strategy.snapshot()))
    twin = OptunaSampler(sampler=optuna.samplers.TPESampler(seed=5, n_startup_trials=4))
    twin.setup(SPACE, [Objective("validation:loss", "minimize")])
    twin.restore(snapshot)
    left = drive(strategy, json.loads(json.dumps(state)), budget=20)
    right = drive(twin, json.loads(json.dumps(state)), budget=20)
    assert left["asked"] == right["asked"]


def test_an_unseeded_sampler_object_cannot_be_resumed_and_says_why() -> None:
    strategy = OptunaSampler(sampler=optuna.samplers.RandomSampler())
    strategy.setup(SPACE, [Objective("validation:loss", "minimize")])
    drive(strategy, new_state(), budget=6)
    twin = OptunaSampler(sampler=optuna.samplers.RandomSampler())
    twin.setup(SPACE, [Objective("validation:loss", "minimize")])
    with pytest.raises(StrategyError, match="propose the same configurations") as caught:
        twin.restore(strategy.snapshot())
    assert "seed" in str(caught.value)


def test_a_failed_job_is_a_failed_optuna_trial() -> None:
    strategy = build("optuna:tpe")
    configs = strategy.ask(2)
    strategy.tell(configs[0], None)
    strategy.tell(configs[1], metrics(configs[1]))
    assert isinstance(strategy, OptunaSampler)
    states = [t.state for t in strategy._study.trials]
    assert states == [optuna.trial.TrialState.FAIL, optuna.trial.TrialState.COMPLETE]


def test_categoricals_reach_the_library_as_categoricals() -> None:
    space = SearchSpace({"opt": Categorical(["sgd", "adam", "rmsprop"]), "x": Continuous(0.0, 1.0)})
    strategy = make_strategy("optuna:tpe", seed=2)
    strategy.setup(space, [Objective("loss", "minimize")])
    configs = strategy.ask(12)
    assert {c["opt"] for c in configs} <= {"sgd", "adam", "rmsprop"}
    assert isinstance(strategy, OptunaSampler)
    assert isinstance(strategy._distributions["opt"], optuna.distributions.CategoricalDistribution)


class _ContinuousOnly:
    """An optimizer family of the user's own that, like some, refuses categorical parameters."""

    def __call__(self, parametrization: object, budget: int | None, num_workers: int) -> object:
        import nevergrad as ng

        if "Choice" in repr(parametrization):
            raise ng.errors.UnsupportedParameterOperationError("Choice parameters not supported")
        return ng.optimizers.registry["OnePlusOne"](parametrization, budget, num_workers)


def test_an_optimizer_that_cannot_search_categoricals_is_refused_at_setup() -> None:
    strategy = NevergradOptimizer(optimizer=_ContinuousOnly())
    with pytest.raises(StrategyError, match="categorical parameters") as caught:
        strategy.setup(SPACE, [Objective("validation:loss", "minimize")])
    assert "nevergrad:NGOpt" in str(caught.value)
    continuous = NevergradOptimizer(optimizer=_ContinuousOnly(), seed=3)
    continuous.setup(SearchSpace({"x": Continuous(0.0, 1.0)}), [Objective("loss", "minimize")])
    assert len(continuous.ask(1)) == 1
