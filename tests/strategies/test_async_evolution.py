"""Asynchronous evolution and islands: the population strategies in the tuner's async mode."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from byohpo.errors import StrategyError
from byohpo.strategies import EvolutionaryStrategy, ParetoStrategy, make_strategy

from .scenario import SPACE, build, drive, metrics, new_state

ASYNC = ["ga", "dea", "eda", "es", "nsga2"]
SCENARIO = Path(__file__).with_name("scenario.py")
ISLANDS = {"islands": 3, "migration_interval": 2, "migration_topology": "ring"}


def build_async(name: str, seed: int = 3, **options: Any) -> EvolutionaryStrategy:
    strategy = build(name, seed=seed, **options)
    assert isinstance(strategy, EvolutionaryStrategy)
    strategy.set_mode("async")
    return strategy


def key(config: dict[str, Any]) -> str:
    return json.dumps(SPACE.hyperparameters(config), sort_keys=True)


@pytest.fixture(params=ASYNC)
def name(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def test_async_mode_refills_every_freed_slot_at_once(name: str) -> None:
    strategy = build_async(name, population_size=4)
    assert strategy.supports_async and strategy.is_asynchronous
    first = strategy.ask(4)
    assert len(first) == 4
    strategy.tell(first[0], metrics(first[0]))
    assert len(strategy.ask(1)) == 1  # the other three still run: no waiting for them
    assert len(strategy.ask(3)) == 3  # more slots than results: children all the same
    # the generational form of the same strategy waits
    generational = build(name, population_size=4)
    assert not generational.supports_async
    while generational.ask(4):
        pass
    assert generational.ask(1) == []


def test_strategies_without_an_asynchronous_form_stay_generational() -> None:
    for other in ("pso", "sa", "paes"):
        strategy = build(other)
        strategy.set_mode("async")
        assert not strategy.supports_async  # so the tuner refuses mode='async' with them


def test_population_is_the_best_results_told_so_far(name: str) -> None:
    strategy = build_async(name, population_size=4)
    state = drive(strategy, new_state(), budget=30, slots=4)
    told = [c for c in state["asked"] if c not in state["in_flight"]]
    snapshot = strategy.snapshot()
    members = [snapshot["individuals"][i] for i in snapshot["population"]]
    size = 8 if name == "dea" else 4  # dea keeps twice the jobs of a generation
    assert len(members) == size
    if name == "nsga2":
        return  # several objectives: the survivors are NSGA-II's, checked by the front
    losses = sorted(m["validation:loss"] for c in told if (m := metrics(c)) is not None)
    held = sorted(-m["fitness"] for m in members if not m["failed"])
    assert held == losses[: len(held)]


def test_children_are_bred_from_the_population_not_drawn_at_random() -> None:
    strategy = build_async("ga", population_size=4, mutation_rate=0.0, crossover_rate=0.0)
    first = strategy.ask(4)
    for config in first:
        strategy.tell(config, metrics(config))
    # without crossover and mutation a child is a parent's copy, nudged off repeats
    child = strategy.ask(1)[0]
    assert min(abs(child["dropout"] - c["dropout"]) for c in first) < 0.1


def test_same_seed_same_children_and_another_seed_others(name: str) -> None:
    runs = [drive(build_async(name, seed=s), new_state(), budget=20) for s in (5, 5, 6)]
    assert runs[0]["asked"] == runs[1]["asked"]
    assert runs[0]["asked"] != runs[2]["asked"]


def test_failures_are_told_and_never_shrink_the_population(name: str) -> None:
    strategy = build_async(name, population_size=4)
    configs = strategy.ask(4)
    for config in configs:
        strategy.tell(config, None)
    for _ in range(12):
        config = strategy.ask(1)[0]
        strategy.tell(config, None)
    size = 8 if name == "dea" else 4
    assert len(strategy.snapshot()["population"]) == size


@pytest.mark.parametrize("options", [{}, ISLANDS], ids=["one-population", "islands"])
def test_snapshot_restored_in_another_process_continues_identically(
    name: str, options: dict[str, Any]
) -> None:
    budget = 30
    whole = drive(build_async(name, **options), new_state(), budget=budget)
    runs = []
    for stop in (3, 11):
        strategy = build_async(name, **options)
        state = drive(strategy, new_state(), budget=budget, stop_after=stop)
        text = json.dumps(strategy.snapshot(), allow_nan=False)
        runs.append(
            {
                "name": name,
                "options": {},
                "snapshot": text,
                "state": state,
                "budget": budget,
                "slots": 4,
            }
        )
    done = subprocess.run(
        [sys.executable, str(SCENARIO)],
        input=json.dumps(runs),
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    for result in json.loads(done.stdout):
        assert result["asked"] == whole["asked"]


def test_options_with_islands_rebuild_an_equal_strategy(name: str) -> None:
    strategy = make_strategy(name, islands=4, migration_interval=5, migrants=2)
    twin = make_strategy(strategy.name, **strategy.options)
    assert twin.options == strategy.options
    assert strategy.options["migration_topology"] == "ring"


def test_islands_share_the_slots_and_each_moves_on_alone() -> None:
    strategy = build("ga", population_size=2, islands=3)  # generational islands
    first = strategy.ask(6)
    assert len(first) == 6 and strategy.ask(6) == []
    island_zero = [first[0], first[3]]  # slots go to the islands in turn
    for config in island_zero:
        strategy.tell(config, metrics(config))
    # island 0's generation is complete: it breeds while the other islands' jobs still run
    assert len(strategy.ask(6)) == 2
    assert strategy.ask(6) == []


def _island_populations(strategy: EvolutionaryStrategy) -> list[set[str]]:
    islands = strategy.snapshot()["islands"]["islands"]
    return [
        {
            key(SPACE.from_unit(island["individuals"][i]["candidate"][: SPACE.dimension]))
            for i in island["population"]
        }
        for island in islands
    ]


@pytest.mark.parametrize(("topology", "receivers"), [("ring", {1}), ("fully_connected", {1, 2, 3})])
def test_the_best_member_migrates_to_the_neighbours_of_its_topology(
    topology: str, receivers: set[int]
) -> None:
    strategy = build_async(
        "ga", population_size=2, islands=4, migration_interval=2, migration_topology=topology
    )
    configs = strategy.ask(8)  # island i answers slots i and i + 4
    losses = {0: 0.5, 4: 0.1}
    for slot in (1, 2, 3, 5, 6, 7):  # the other islands first: their migrants go elsewhere
        losses[slot] = 50.0 + slot
    for slot, config in enumerate(configs):
        if slot not in (0, 4):
            strategy.tell(config, {"validation:loss": losses[slot]})
    before = _island_populations(strategy)
    strategy.tell(configs[0], {"validation:loss": losses[0]})
    strategy.tell(configs[4], {"validation:loss": losses[4]})  # island 0's second: it migrates
    after = _island_populations(strategy)
    best = key(configs[4])
    got = {i for i in range(4) if best in after[i] and best not in before[i] and i != 0}
    assert got == receivers
    assert best in after[0]


def test_nsga2_islands_report_every_non_dominated_trial() -> None:
    strategy = build_async("nsga2", islands=2, migration_interval=3)
    assert isinstance(strategy, ParetoStrategy)
    state = drive(strategy, new_state(), budget=40)
    told = [c for c in state["asked"] if c not in state["in_flight"]]
    results = {
        key(c): {"validation:loss": m["validation:loss"], "train:seconds": m["train:seconds"]}
        for c in told
        if (m := metrics(c)) is not None
    }

    def dominated(a: dict[str, float]) -> bool:
        return any(b != a and all(b[k] <= a[k] for k in a) for b in results.values())

    expected = {k: v for k, v in results.items() if not dominated(v)}
    front = {key(p.config): p.objectives for p in strategy.pareto_front()}
    assert len(expected) > 1
    assert front == expected


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"islands": 0}, "islands must be a whole number >= 1"),
        ({"islands": 2, "migration_topology": "star"}, "'ring', 'fully_connected', 'random'"),
        ({"migration_interval": 5}, r"apply to an island model \(islands >= 2\)"),
        ({"islands": 2, "migrants": 0}, "migrants must be a whole number >= 1"),
    ],
)
def test_bad_island_options_are_refused_before_any_job(
    options: dict[str, Any], message: str
) -> None:
    with pytest.raises(StrategyError, match=message) as caught:
        make_strategy("ga", **options)
    assert isinstance(caught.value, ValueError)


def test_strategies_without_islands_say_which_options_they_take() -> None:
    with pytest.raises(StrategyError, match="takes the options"):
        make_strategy("pso", islands=2)


def _children_after(results: list[float | None], told: int) -> list[dict[str, Any]]:
    """Asynchronous eda's next 6 children once ``told`` of its first 4 were told ``results``."""
    strategy = build_async("eda", population_size=4)
    first = strategy.ask(4)
    for config, loss in list(zip(first, results, strict=True))[:told]:
        strategy.tell(config, None if loss is None else {"validation:loss": loss})
    return strategy.ask(6)


def test_async_eda_estimates_its_distribution_only_from_a_whole_population() -> None:
    # the first results back are the shortest jobs, not the best: until a whole population
    # was told, children are drawn as the initial ones, whatever those results say
    assert _children_after([1.0, 2.0, 3.0, 4.0], told=3) == _children_after(
        [3.0, 2.0, 1.0, 4.0], told=3
    )
    # once it was, the best results steer them
    assert _children_after([1.0, 2.0, 3.0, 4.0], told=4) != _children_after(
        [3.0, 2.0, 1.0, 4.0], told=4
    )
