"""Population based training's own promises: exploit, explore, both forms, no stalls."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from byohpo.errors import StrategyError
from byohpo.objectives import Objective
from byohpo.space import Categorical, Continuous, Integer, SearchSpace, Static
from byohpo.strategies import PopulationBasedTraining, Suggestion, make_strategy
from byohpo.strategies._perturbation import Explorer

ACCURACY = Objective("validation:accuracy")
SPACE = SearchSpace(
    {
        "learning_rate": Continuous(1e-4, 0.4, scaling="log"),
        "momentum": Continuous(0.5, 0.99, scaling="reverse_log"),
        "units": Integer(8, 128, scaling="log"),
        "optimizer": Categorical(["sgd", "adam", "rmsprop"]),
        "num_epoch": Integer(1, 20),
        "batch_size": Static(64),
    }
)
STEP = {"step_parameter": "num_epoch", "step_size": 2}


def build(mode: str = "generational", **options: Any) -> PopulationBasedTraining:
    strategy = PopulationBasedTraining(seed=4, **{**STEP, **options})
    strategy.setup(SPACE, [ACCURACY])
    strategy.set_mode(mode)
    return strategy


def accuracy(config: dict[str, Any]) -> float:
    """Better with a learning rate near 0.01 and adam."""
    return 1.0 / (1.0 + math.log10(config["learning_rate"] / 0.01) ** 2) + (
        0.1 if config["optimizer"] == "adam" else 0.0
    )


class Study:
    """Plays the tuner: numbers the trials, tells each result with its trial id."""

    def __init__(self, strategy: PopulationBasedTraining) -> None:
        self.strategy = strategy
        self.trials: list[Suggestion] = []
        self.scores: dict[int, float | None] = {}

    def ask(self, n: int) -> list[Suggestion]:
        fresh = []
        for config in self.strategy.ask(n):
            assert isinstance(config, Suggestion)
            SPACE.validate(config)
            fresh.append(config)
            self.trials.append(config)
        return fresh

    def tell(self, config: Suggestion, score: float | None = None, *, fail: bool = False) -> None:
        tid = next(i for i, t in enumerate(self.trials) if t is config)
        value = None if fail else (accuracy(config) if score is None else score)
        self.scores[tid] = value
        metrics = None if value is None else {"validation:accuracy": value}
        told = Suggestion(config, parent=config.parent, generation=config.generation, trial_id=tid)
        self.strategy.tell(told, metrics)

    def generation(self, n: int = 8, fail: frozenset[int] = frozenset()) -> list[Suggestion]:
        configs = self.ask(n)
        for index, config in enumerate(configs):
            self.tell(config, fail=index in fail)
        return configs


def test_a_generation_trains_the_whole_population_then_the_bottom_copies_the_top() -> None:
    study = Study(build(population_size=8, quantile_fraction=0.25))
    founders = study.generation()
    assert [c.parent for c in founders] == [None] * 8
    assert [c.generation for c in founders] == [0] * 8
    assert [c["num_epoch"] for c in founders] == [2] * 8
    ranked = sorted(range(8), key=lambda i: -accuracy(founders[i]))
    second = study.ask(8)
    assert study.strategy.ask(8) == []  # the generation is in flight
    assert [c.generation for c in second] == [1] * 8
    assert [c["num_epoch"] for c in second] == [4] * 8
    for member, config in enumerate(second):
        if member in ranked[-2:]:  # the bottom quarter: a top member's checkpoint, perturbed
            assert config.parent in ranked[:2]
            copied = {k: v for k, v in founders[config.parent].items() if k != "num_epoch"}
            assert {k: v for k, v in config.items() if k != "num_epoch"} != copied  # explored
        else:  # the others go on from their own checkpoint, unchanged
            assert config.parent == member
            assert {k: v for k, v in config.items() if k != "num_epoch"} == {
                k: v for k, v in founders[member].items() if k != "num_epoch"
            }


def test_tell_order_within_a_generation_does_not_change_the_next() -> None:
    runs = []
    for order in (1, -1):
        study = Study(build(population_size=6))
        history = []
        for _ in range(4):
            configs = study.ask(6)
            history.append([(dict(c), c.parent) for c in configs])
            for config in configs[::order]:
                study.tell(config)
        runs.append(history)
    assert runs[0] == runs[1]


def test_a_failed_member_copies_a_donor_and_a_failed_job_is_never_a_parent() -> None:
    study = Study(build(population_size=4))
    study.generation(4, fail=frozenset({0, 2}))
    second = study.ask(4)
    assert len(second) == 4  # nobody waits for the failed ones
    assert {c.parent for c in second} <= {1, 3}
    best = max((1, 3), key=lambda member: study.scores[member])
    assert second[best].parent == best  # the best goes on; the others copy a completed member


def test_when_nobody_completed_the_failed_start_afresh_training_as_long_as_the_others() -> None:
    study = Study(build(population_size=3))
    study.generation(3, fail=frozenset({0, 1, 2}))
    second = study.ask(3)
    assert [c.parent for c in second] == [None] * 3
    assert [c.generation for c in second] == [1] * 3
    assert [c["num_epoch"] for c in second] == [4] * 3  # from scratch, as far as the others


def test_generations_end_the_study() -> None:
    study = Study(build(population_size=3, generations=2))
    study.generation(3)
    study.generation(3)
    assert study.strategy.ask(3) == []
    assert len(study.trials) == 6


def test_the_step_parameters_range_bounds_the_generations() -> None:
    study = Study(build(population_size=2))  # num_epoch <= 20, 2 a step: 10 generations
    for _ in range(10):
        assert len(study.generation(2)) == 2
    assert study.strategy.ask(2) == []
    assert max(c["num_epoch"] for c in study.trials) == 20


def test_async_form_goes_on_with_the_latest_results_at_once() -> None:
    strategy = build("async", population_size=4)
    assert strategy.supports_async and not strategy.is_synchronous
    study = Study(strategy)
    founders = study.ask(4)
    assert study.strategy.ask(4) == []  # the population is founded; nobody has finished
    study.tell(founders[2], 0.9)
    (alone,) = study.ask(4)  # compared with nobody else yet: goes on from its own checkpoint
    assert alone.parent == 2 and alone.generation == 1
    for member in (0, 1, 3):
        study.tell(founders[member], 0.1 * member)
    following = study.ask(4)
    assert [c.parent for c in following] == [2, 1, 3]  # member 0 (the worst) copies member 2
    assert following[0]["learning_rate"] != founders[2]["learning_rate"] or (
        following[0]["momentum"] != founders[2]["momentum"]
    )


def test_the_form_follows_the_tuners_mode_unless_given() -> None:
    assert build("generational").is_synchronous
    assert not build("async").is_synchronous
    assert build("async", synchronous=True).is_synchronous
    assert not build("async", synchronous=True).supports_async
    assert PopulationBasedTraining.supports_async  # the class can run asynchronously


def test_explore_perturbs_within_bounds_or_resamples() -> None:
    import random

    explorer = Explorer(
        SPACE,
        mutable=["learning_rate", "momentum", "units", "optimizer"],
        bounds={"learning_rate": [0.001, 0.05]},
        factors=[0.8, 1.2],
        resample_probability=0.0,
        fixed=["num_epoch"],
    )
    rng = random.Random(0)
    base = {
        "learning_rate": 0.01,
        "momentum": 0.9,
        "units": 10,
        "optimizer": "adam",
        "num_epoch": 4,
        "batch_size": 64,
    }
    seen: dict[str, set[Any]] = {name: set() for name in base}
    for _ in range(50):
        explored = explorer.explore(base, rng)
        SPACE.validate(explored)
        for name, value in explored.items():
            seen[name].add(value)
    assert seen["learning_rate"] == {0.008, 0.012}
    assert seen["momentum"] == {0.88, 0.92}  # its distance from 1 is perturbed
    assert seen["units"] == {8, 12}
    assert seen["optimizer"] == {"sgd", "rmsprop"}  # a neighbouring value
    assert seen["num_epoch"] == {4} and seen["batch_size"] == {64}
    edge = explorer.explore({**base, "learning_rate": 0.05}, random.Random(1))
    assert edge["learning_rate"] <= 0.05  # clipped to its bounds
    resampling = Explorer(
        SPACE,
        mutable=["learning_rate"],
        bounds={"learning_rate": [0.001, 0.05]},
        factors=[0.8, 1.2],
        resample_probability=1.0,
    )
    drawn = {resampling.explore(base, rng)["learning_rate"] for _ in range(30)}
    assert len(drawn) > 20 and all(0.001 <= lr <= 0.05 for lr in drawn)


def test_parameters_not_mutable_stay_the_founders_within_a_lineage() -> None:
    study = Study(build(population_size=6, mutable=["learning_rate"], resample_probability=0.5))
    for _ in range(5):
        study.generation(6)
    for config in study.trials:
        lineage = config
        while lineage.parent is not None:
            parent = study.trials[lineage.parent]
            assert (lineage["units"], lineage["optimizer"], lineage["momentum"]) == (
                parent["units"],
                parent["optimizer"],
                parent["momentum"],
            )
            lineage = parent


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"step_parameter": "epochs"}, "step_parameter must be an Integer"),
        ({"step_parameter": "batch_size"}, "step_parameter must be an Integer"),
        ({"step_size": 3, "generations": 7}, "generations \\* step_size"),
        ({"mutable": ["num_epoch"]}, "a mutable parameter is a tuned one"),
        ({"mutable": ["nope"]}, "mutable names parameters"),
        ({"parameter_bounds": {"learning_rate": [1e-5, 0.1]}}, "within the search space"),
        ({"parameter_bounds": {"optimizer": [0, 1]}}, "continuous and integer"),
    ],
)
def test_options_that_cannot_work_with_the_space_are_refused_at_setup(
    options: dict[str, Any], message: str
) -> None:
    strategy = PopulationBasedTraining(**{**STEP, **options})
    with pytest.raises(StrategyError, match=message):
        strategy.setup(SPACE, [ACCURACY])


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"quantile_fraction": 0.6}, "quantile_fraction"),
        ({"perturbation_factors": []}, "perturbation_factors"),
        ({"perturbation_factors": [0.8, -1]}, "perturbation_factors"),
        ({"resample_probability": 1.5}, "resample_probability"),
        ({"parameter_bounds": {"learning_rate": [0.1, 0.01]}}, "low < high"),
        ({"step_size": 0}, "step_size"),
        ({"population_size": 1}, "population_size"),
        ({"synchronous": "yes"}, "synchronous"),
    ],
)
def test_bad_options_are_refused_when_built(options: dict[str, Any], message: str) -> None:
    with pytest.raises(StrategyError, match=message):
        make_strategy("pbt", **options)


def test_a_snapshot_in_the_middle_of_a_generation_resumes_identically() -> None:
    for mode in ("generational", "async"):
        study = Study(build(mode, population_size=5))
        study.generation(5)
        pending = study.ask(5)
        for config in pending[:2]:
            study.tell(config)
        snapshot = json.loads(json.dumps(study.strategy.snapshot()))
        twin = Study(build(mode, population_size=5))
        twin.strategy.restore(snapshot)
        twin.trials = list(study.trials)
        for config in pending[2:]:
            study.tell(config)
            twin.tell(config)
        assert [(dict(c), c.parent) for c in study.ask(5)] == [
            (dict(c), c.parent) for c in twin.ask(5)
        ]
