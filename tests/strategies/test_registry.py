"""Choosing a strategy by name, class or object, with options checked before any job runs."""

from __future__ import annotations

import inspect
from typing import Any

import pytest

import byohpo.strategies as strategies
from byohpo.errors import StrategyError
from byohpo.strategies import (
    STRATEGIES,
    GeneticAlgorithm,
    Strategy,
    UserStrategy,
    make_strategy,
    strategy_options,
)

from .scenario import SPACE, objectives_for


def test_the_documented_names_and_classes() -> None:
    assert {name: cls.__name__ for name, cls in STRATEGIES.items()} == {
        "auto": "AutoStrategy",
        "random": "RandomSearch",
        "bo": "BayesianOptimization",
        "ga": "GeneticAlgorithm",
        "pso": "ParticleSwarm",
        "paes": "PAES",
        "nsga2": "NSGA2",
        "es": "EvolutionStrategy",
        "sa": "SimulatedAnnealing",
        "dea": "DifferentialEvolution",
        "eda": "EstimationOfDistribution",
        "pbt": "PopulationBasedTraining",
    }
    assert all(cls.name == name for name, cls in STRATEGIES.items())


def test_capabilities() -> None:
    assert [n for n, c in STRATEGIES.items() if c.supports_async] == ["auto", "random", "bo", "pbt"]
    assert [n for n, c in STRATEGIES.items() if c.warm_starts] == ["pbt"]
    assert [n for n, c in STRATEGIES.items() if c.supports_multi_objective] == [
        "auto",
        "random",
        "bo",
        "paes",
        "nsga2",
    ]


def test_all_lists_exactly_the_public_names() -> None:
    for name in strategies.__all__:
        assert hasattr(strategies, name), name
    public_classes = {
        obj.__name__
        for module in vars(strategies).values()
        if inspect.ismodule(module) and module.__name__.startswith("byohpo.strategies.")
        for obj in vars(module).values()
        if inspect.isclass(obj)
        and issubclass(obj, Strategy)
        and obj.__module__ == module.__name__
        and not obj.__name__.startswith("_")
    }
    assert public_classes <= set(strategies.__all__)


@pytest.mark.parametrize("spelling", ["ga", "GA", " Ga ", "GeneticAlgorithm", "geneticalgorithm"])
def test_a_name_in_any_case_or_the_class_name(spelling: str) -> None:
    assert isinstance(make_strategy(spelling), GeneticAlgorithm)


@pytest.mark.parametrize(
    ("typo", "suggestion"), [("nsga", "nsga2"), ("gaa", "ga"), ("randm", "random")]
)
def test_an_unknown_name_suggests_the_nearest(typo: str, suggestion: str) -> None:
    with pytest.raises(StrategyError) as caught:
        make_strategy(typo)
    message = str(caught.value)
    assert f"Did you mean {suggestion!r}?" in message
    assert repr(typo) in message
    assert "'ga', 'pso'" in message  # lists what exists


def test_options_go_to_the_constructor() -> None:
    strategy = make_strategy("ga", mutation_rate=0.1, population_size=10, seed=4)
    assert isinstance(strategy, GeneticAlgorithm)
    assert strategy.mutation_rate == 0.1
    assert strategy.options["population_size"] == 10
    assert strategy.seed == 4


def test_an_unknown_option_lists_the_ones_taken() -> None:
    with pytest.raises(StrategyError) as caught:
        make_strategy("ga", foo=1, mutation_rat=0.2)
    message = str(caught.value)
    for option in strategy_options("ga"):
        assert option in message
    assert "foo" in message
    assert "'mutation_rat' -> 'mutation_rate'" in message


@pytest.mark.parametrize(
    ("name", "options", "must"),
    [
        ("ga", {"population_size": 1}, "population_size must be a whole number >= 2"),
        ("eda", {"population_size": 3}, "population_size must be a whole number >= 4"),
        ("pso", {"population_size": 0}, ">= 2"),
        ("es", {"population_size": 2.5}, "whole number"),
        ("ga", {"mutation_rate": 1.5}, "mutation_rate must lie in [0, 1]"),
        ("ga", {"crossover": "uniform"}, "crossover must be one of 'blend', 'sbx'"),
        ("ga", {"mutation_scale": 0}, "mutation_scale must be > 0"),
        ("ga", {"num_elites": -1}, "num_elites must be a whole number >= 0"),
        ("sa", {"cooling_rate": 1.0}, "cooling_rate must lie strictly between 0 and 1"),
        ("sa", {"temperature": -2}, "temperature must be > 0"),
        ("pso", {"topology": "wheel"}, "topology must be one of 'star', 'ring'"),
        ("pso", {"inertia": float("nan")}, "inertia must be a finite number"),
        ("paes", {"max_archive_size": 0}, "max_archive_size must be a whole number >= 1"),
        ("nsga2", {"mutation_rate": "high"}, "mutation_rate must be a finite number"),
        ("dea", {"tournament_size": 0}, "tournament_size must be a whole number >= 1"),
        ("eda", {"num_selected": 1}, "num_selected must be a whole number >= 2"),
    ],
)
def test_a_bad_option_value_says_what_must_hold(
    name: str, options: dict[str, Any], must: str
) -> None:
    with pytest.raises(StrategyError) as caught:
        make_strategy(name, **options)
    message = str(caught.value)
    assert must in message
    assert "but got" in message  # what was given
    assert isinstance(caught.value, ValueError)


def test_a_configured_strategy_or_class_is_accepted() -> None:
    configured = GeneticAlgorithm(mutation_rate=0.3)
    assert make_strategy(configured) is configured
    assert isinstance(make_strategy(GeneticAlgorithm, num_elites=0), GeneticAlgorithm)


def test_options_apply_only_to_a_name_or_class() -> None:
    with pytest.raises(StrategyError, match="by name or class"):
        make_strategy(GeneticAlgorithm(), mutation_rate=0.3)


def test_an_object_with_ask_and_tell_is_wrapped() -> None:
    class Mine:
        def ask(self, n: int) -> list[dict[str, Any]]:
            return []

        def tell(self, config: dict[str, Any], metrics: dict[str, float] | None) -> None:
            pass

    strategy = make_strategy(Mine())
    assert isinstance(strategy, UserStrategy)
    strategy.setup(SPACE, objectives_for("ga"))
    assert strategy.ask(3) == []


@pytest.mark.parametrize("spec", [42, None, object(), ["ga"]])
def test_anything_else_is_refused(spec: object) -> None:
    with pytest.raises(StrategyError, match=r"ask\(n\) and tell"):
        make_strategy(spec)
