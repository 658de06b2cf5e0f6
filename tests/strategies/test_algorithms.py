"""What each algorithm promises beyond the common contract, and inspyred's traps avoided."""

from __future__ import annotations

import logging
import random
import statistics

import pytest
from inspyred import ec as iec
from inspyred.ec import archivers

from byohpo.objectives import Objective
from byohpo.space import Categorical, Integer, SearchSpace
from byohpo.strategies import STRATEGIES, make_strategy
from byohpo.strategies._suggestion import parent_of

from .scenario import LOSS, SECONDS, SPACE, build, drive, metrics, new_state


def _generation(strategy: object, n: int) -> list[dict]:
    configs = strategy.ask(n)  # type: ignore[attr-defined]
    for config in configs:
        strategy.tell(config, metrics(config))  # type: ignore[attr-defined]
    return configs


# -- inspyred's traps ------------------------------------------------------------------


def test_building_strategies_leaves_no_logging_handlers_behind() -> None:
    logger = logging.getLogger("inspyred.ec")
    before = list(logger.handlers)
    iec.GA(random.Random())  # inspyred itself adds one handler per computation
    assert len(logger.handlers) == len(before) + 1
    logger.removeHandler(logger.handlers[-1])
    names = list(STRATEGIES)
    for i in range(50):
        strategy = build(names[i % len(names)])
        strategy.restore(strategy.snapshot())
    assert logger.handlers == before


def test_a_paes_after_an_interrupted_one_keeps_its_own_grid() -> None:
    # inspyred keeps the PAES grid on its module-level archiver function: a run with
    # a coarser grid or fewer objectives, abandoned, broke the next run with IndexError.
    abandoned = make_strategy("paes", seed=1, num_grid_divisions=1)
    abandoned.setup(SPACE, [LOSS, SECONDS, Objective("train:loss", "minimize")])
    drive(abandoned, new_state(), budget=7)
    following = build("paes", num_grid_divisions=3)
    drive(following, new_state(), budget=40)
    grid = ("grid_population", "global_smallest", "global_largest")
    assert not any(hasattr(archivers.adaptive_grid_archiver, a) for a in grid)


def test_interleaved_paes_studies_decide_as_if_alone() -> None:
    alone = drive(build("paes", seed=5), new_state(), budget=30)["asked"]
    a, b = build("paes", seed=5), build("paes", seed=5, num_grid_divisions=1)
    state_a, state_b = new_state(), new_state()
    for told in range(1, 31):
        drive(a, state_a, budget=30, stop_after=told)
        drive(b, state_b, budget=30, stop_after=told)
    assert state_a["asked"] == alone


def test_clipped_candidates_stay_floats_and_snapshot_cleanly() -> None:
    # inspyred's Bounder with scalar bounds stores itertools.repeat (no snapshot),
    # and clipping to integer bounds would turn coordinates into ints.
    strategy = build("ga", mutation_scale=5.0, mutation_rate=1.0)
    drive(strategy, new_state(), budget=24)
    individuals = strategy.snapshot()["individuals"]
    coordinates = [x for i in individuals for x in i["candidate"]]
    assert {0.0, 1.0} <= set(coordinates)  # clipping happened
    assert all(type(x) is float for x in coordinates)


# -- algorithm by algorithm -------------------------------------------------------------


def test_evolution_strategy_candidates_carry_their_step_sizes() -> None:
    strategy = build("es", population_size=4, mutation_scale=0.2)
    _generation(strategy, 4)
    first = strategy.snapshot()["individuals"]
    d = SPACE.dimension
    assert all(len(i["candidate"]) == 2 * d and i["candidate"][d:] == [0.2] * d for i in first)
    for _ in range(3):
        _generation(strategy, 4)
    steps = [x for i in strategy.snapshot()["individuals"] for x in i["candidate"][d:]]
    assert len(set(steps)) > 1  # the step sizes adapt


def test_simulated_annealing_cools_by_its_rate() -> None:
    strategy = build("sa", population_size=3, temperature=2.0, cooling_rate=0.5)
    for _ in range(4):
        _generation(strategy, 3)
    assert strategy.snapshot()["args"]["temperature"] == pytest.approx(2.0 * 0.5**3)


def test_simulated_annealing_fits_its_temperature_to_the_metric() -> None:
    strategy = build("sa", population_size=5)
    configs = _generation(strategy, 5)
    losses = [m["validation:loss"] for c in configs if (m := metrics(c)) is not None]
    expected = 0.5 * statistics.pstdev(losses)
    assert strategy.snapshot()["args"]["temperature"] == pytest.approx(expected)


def test_estimation_of_distribution_keeps_searching_on_a_plateau() -> None:
    strategy = build("eda", population_size=6)
    for _ in range(12):
        for config in strategy.ask(6):
            strategy.tell(config, {"validation:loss": 1.0})
    last = [SPACE.to_unit(c)[:3] for c in strategy.ask(6)]  # the continuous parameters
    spreads = [statistics.pstdev(column) for column in zip(*last, strict=True)]
    assert min(spreads) > 0.01  # inspyred's own sampling collapses to about 1e-3


def test_differential_evolution_breeds_one_batch_over_a_double_population() -> None:
    strategy = build("dea")
    initial = strategy.ask(4) + strategy.ask(4)
    assert len(initial) == 8 and strategy.ask(4) == []
    for config in initial:
        strategy.tell(config, metrics(config))
    assert len(strategy.ask(8)) == 4


def test_nsga2_improves_on_its_first_generation() -> None:
    # inspyred's NSGA2 has no variation of its own: it would only re-evaluate
    strategy = build("nsga2", population_size=8)
    first = _generation(strategy, 8)
    later = [c for _ in range(10) for c in _generation(strategy, 8)]

    def best(configs: list[dict]) -> float:
        return min(m["validation:loss"] for c in configs if (m := metrics(c)) is not None)

    assert best(later) < best(first) - 0.1


@pytest.mark.parametrize("name", list(STRATEGIES))
def test_no_configuration_is_suggested_twice(name: str) -> None:
    # A job is its hyperparameters and the checkpoint it starts from (PBT's steps name a parent).
    state = drive(build(name), new_state(), budget=60)
    keys = [(tuple(sorted(SPACE.hyperparameters(c).items())), parent_of(c)) for c in state["asked"]]
    assert len(set(keys)) == len(keys)


def test_a_tiny_space_is_exhausted_and_then_repeated() -> None:
    tiny = SearchSpace({"depth": Integer(1, 3), "kind": Categorical(["a", "b"])})
    strategy = make_strategy("ga", seed=2, population_size=4)
    strategy.setup(tiny, [LOSS])
    seen = []
    for _ in range(6):
        configs = strategy.ask(4)
        for config in configs:
            tiny.validate(config)
            strategy.tell(config, {"validation:loss": float(config["depth"])})
        seen += configs
    assert len({(c["depth"], c["kind"]) for c in seen}) == 6
