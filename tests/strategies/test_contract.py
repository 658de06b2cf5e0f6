"""The contract every registered strategy keeps, checked on each one."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from byohpo.errors import StrategyError
from byohpo.objectives import Objective
from byohpo.space import Categorical, Continuous, Integer, SearchSpace, Static
from byohpo.strategies import EvolutionaryStrategy, ParetoStrategy, make_strategy

from .conftest import ALL, MULTI_OBJECTIVE
from .scenario import SPACE, build, drive, metrics, new_state, objectives_for

SCENARIO = Path(__file__).with_name("scenario.py")
BUDGET = 36
SNAPSHOT_AFTER = (6, 12, 13)  # in the first generation, between two, one tell into the next


def test_ask_fills_the_free_slots(name: str) -> None:
    strategy = build(name)
    configs = strategy.ask(5)
    assert len(configs) == 5
    assert len({json.dumps(SPACE.hyperparameters(c), sort_keys=True) for c in configs}) == 5


def test_generational_strategy_waits_for_its_whole_generation(generational: str) -> None:
    strategy = build(generational, population_size=4)
    first = strategy.ask(3)
    first += strategy.ask(3)
    # population_size is the jobs of a generation; dea's first fills its population, twice that
    while fresh := strategy.ask(3):
        first += fresh
    assert len(first) == (8 if generational == "dea" else 4)
    assert strategy.ask(4) == []
    for config in first[:-1]:
        strategy.tell(config, metrics(config))
        assert strategy.ask(4) == []
    strategy.tell(first[-1], metrics(first[-1]))
    # the next generation: population_size jobs, whatever the strategy
    assert len(strategy.ask(8)) == 4


def test_random_search_proposes_at_any_time() -> None:
    strategy = build("random")
    assert strategy.supports_async
    assert len(strategy.ask(3)) == 3
    assert len(strategy.ask(3)) == 3  # nothing told yet


def test_same_seed_same_suggestions_and_another_seed_others(name: str) -> None:
    runs = [drive(build(name, seed=seed), new_state(), budget=16) for seed in (11, 11, 12)]
    assert runs[0]["asked"] == runs[1]["asked"]
    assert runs[0]["asked"] != runs[2]["asked"]


def test_tell_order_does_not_change_decisions(generational: str) -> None:
    histories = []
    for order in (1, -1):
        strategy = build(generational, population_size=6)
        asked = []
        for _ in range(4):
            generation = strategy.ask(6)
            asked.append(generation)
            for config in generation[::order]:
                strategy.tell(config, metrics(config))
        histories.append(asked)
    assert histories[0] == histories[1]


@pytest.fixture(scope="module")
def uninterrupted() -> dict[str, dict[str, Any]]:
    """Each strategy's whole scenario run, without interruption."""
    return {name: drive(build(name), new_state(), budget=BUDGET) for name in ALL}


@pytest.fixture(scope="module")
def resumed_elsewhere() -> dict[tuple[str, int], dict[str, Any]]:
    """Each strategy snapshotted part-way, restored from the JSON text in another interpreter."""
    runs: list[dict[str, Any]] = []
    for name in ALL:
        for stop in SNAPSHOT_AFTER:
            strategy = build(name)
            state = drive(strategy, new_state(), budget=BUDGET, stop_after=stop)
            text = json.dumps(strategy.snapshot(), allow_nan=False)
            runs.append(
                {
                    "name": name,
                    "options": {},
                    "snapshot": text,
                    "state": state,
                    "budget": BUDGET,
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
    results = json.loads(done.stdout)
    return {
        (run["name"], run["state"]["told"]): result
        for run, result in zip(runs, results, strict=True)
    }


@pytest.mark.parametrize("stop", SNAPSHOT_AFTER)
def test_snapshot_restored_in_another_process_makes_the_same_decisions(
    name: str,
    stop: int,
    uninterrupted: dict[str, dict[str, Any]],
    resumed_elsewhere: dict[tuple[str, int], dict[str, Any]],
) -> None:
    assert resumed_elsewhere[(name, stop)]["asked"] == uninterrupted[name]["asked"]


def test_restore_in_process_continues_identically(name: str) -> None:
    strategy = build(name)
    state = drive(strategy, new_state(), budget=BUDGET, stop_after=9)
    snapshot = json.loads(json.dumps(strategy.snapshot()))
    twin = build(name, seed=999)  # the snapshot's random state replaces the seed
    twin.restore(snapshot)
    left = drive(strategy, json.loads(json.dumps(state)), budget=BUDGET)
    right = drive(twin, json.loads(json.dumps(state)), budget=BUDGET)
    assert left["asked"] == right["asked"]
    assert json.dumps(strategy.snapshot()) == json.dumps(twin.snapshot())


def test_snapshot_is_json_with_its_format_and_name(name: str) -> None:
    strategy = build(name)
    drive(strategy, new_state(), budget=10)
    snapshot = strategy.snapshot()
    assert json.loads(json.dumps(snapshot, allow_nan=False)) == snapshot
    assert snapshot["format"] == 1
    assert snapshot["strategy"] == name.partition(":")[0]  # optuna:tpe is an 'optuna' strategy


def test_snapshot_does_not_change_as_the_study_goes_on(name: str) -> None:
    strategy = build(name)
    state = drive(strategy, new_state(), budget=10)
    snapshot = strategy.snapshot()
    text = json.dumps(snapshot)
    drive(strategy, state, budget=20)
    assert json.dumps(snapshot) == text


def _population_sizes(name: str, failing: set[int]) -> list[int]:
    """Population size after each generation; the generations in ``failing`` fail entirely."""
    strategy = build(name)
    assert isinstance(strategy, EvolutionaryStrategy)
    sizes = []
    for generation in range(6):
        configs = strategy.ask(6)
        while fresh := strategy.ask(6):  # the rest of a generation larger than the slots
            configs += fresh
        for config in configs:
            strategy.tell(config, None if generation in failing else metrics(config))
        sizes.append(len(strategy.snapshot()["population"]))
    return sizes


def test_failed_jobs_never_shrink_the_population(generational: str) -> None:
    expected = 12 if generational == "dea" else 6
    assert _population_sizes(generational, failing={0, 2, 3}) == [expected] * 6
    # a scenario where some jobs of every generation fail (rmsprop with many layers)
    strategy = build(generational)
    drive(strategy, new_state(), budget=60, slots=6)
    assert len(strategy.snapshot()["population"]) == expected


def _tell_losses(strategy: Any, losses: list[float | None]) -> None:
    configs = strategy.ask(len(losses))
    for config, loss in zip(configs, losses, strict=True):
        strategy.tell(config, None if loss is None else {"validation:loss": loss})


def _held(strategy: Any) -> tuple[list[float], list[float]]:
    """Fitness of the failed and of the successful population members."""
    snapshot = strategy.snapshot()
    members = [snapshot["individuals"][i] for i in snapshot["population"]]
    failed = [m["fitness"] for m in members if m["failed"]]
    succeeded = [m["fitness"] for m in members if not m["failed"]]
    return failed, succeeded


def test_failed_jobs_rank_as_the_worst_success_seen() -> None:
    strategy = build("es", population_size=4)
    _tell_losses(strategy, [None, 5.0, None, 1.0])
    assert _held(strategy) == ([-5.0, -5.0], [-5.0, -1.0])
    # a worse success arrives: failures sink with it, and "plus" replacement drops them
    _tell_losses(strategy, [7.0, None, 0.5, 2.0])
    failed, succeeded = _held(strategy)
    assert failed == [] and sorted(succeeded) == [-5.0, -2.0, -1.0, -0.5]


def test_failures_before_any_success_tie_and_then_lose() -> None:
    strategy = build("ga", population_size=4, num_elites=4)
    _tell_losses(strategy, [None, None, None, None])
    assert _held(strategy) == ([0.0] * 4, [])
    _tell_losses(strategy, [3.0, 4.0, None, 2.0])
    failed, succeeded = _held(strategy)
    assert sorted(succeeded) == [-4.0, -3.0, -2.0]
    assert failed == [-4.0]  # elitism kept a failure, now ranked as the worst success


def _assert_is_config(config: dict[str, Any]) -> None:
    SPACE.validate(config)
    assert json.loads(json.dumps(config)) == config
    for key, parameter in ((k, SPACE[k]) for k in SPACE):
        value = config[key]
        if isinstance(parameter, Static):
            assert value == parameter.value and type(value) is type(parameter.value)
        elif isinstance(parameter, Integer):
            assert type(value) is int and parameter.min <= value <= parameter.max
        elif isinstance(parameter, Continuous):
            assert type(value) is float and parameter.min <= value <= parameter.max
        elif isinstance(parameter, Categorical):
            assert any(value == v and type(value) is type(v) for v in parameter.values)


def test_configs_lie_in_the_space_with_the_declared_types(name: str) -> None:
    state = drive(build(name), new_state(), budget=BUDGET)
    for config in state["asked"]:
        _assert_is_config(config)


def test_large_mutations_stay_in_the_space() -> None:
    strategy = build("ga", mutation_scale=5.0, mutation_rate=1.0)
    state = drive(strategy, new_state(), budget=24)
    for config in state["asked"]:
        _assert_is_config(config)
    for individual in strategy.snapshot()["individuals"]:
        assert all(type(x) is float and 0.0 <= x <= 1.0 for x in individual["candidate"])


@pytest.mark.parametrize("name", MULTI_OBJECTIVE)
def test_pareto_front_is_every_non_dominated_trial(name: str) -> None:
    strategy = build(name)
    assert isinstance(strategy, ParetoStrategy)
    state = drive(strategy, new_state(), budget=48)
    told = [c for c in state["asked"] if c not in state["in_flight"]]
    results = {}
    for config in told:
        m = metrics(config)
        if m is not None:  # failed trials are never on the front
            key = json.dumps(SPACE.hyperparameters(config), sort_keys=True)
            results[key] = {
                "validation:loss": m["validation:loss"],
                "train:seconds": m["train:seconds"],
            }

    def dominated(a: dict[str, float]) -> bool:
        return any(b != a and all(b[k] <= a[k] for k in a) for b in results.values())

    expected = {key: value for key, value in results.items() if not dominated(value)}
    front = {
        json.dumps(SPACE.hyperparameters(p.config), sort_keys=True): p.objectives
        for p in strategy.pareto_front()
    }
    assert len(expected) > 1
    assert front == expected


def test_single_objective_strategy_refuses_several_objectives(name: str) -> None:
    strategy = make_strategy(name)
    if strategy.supports_multi_objective:
        strategy.setup(SPACE, [Objective("a"), Objective("b", "minimize")])
        return
    with pytest.raises(StrategyError, match="single objective"):
        strategy.setup(SPACE, [Objective("a"), Objective("b", "minimize")])


@pytest.mark.parametrize("n", [0, -1, 2.5, True, "4", None])
def test_ask_needs_a_whole_number_of_slots(name: str, n: object) -> None:
    strategy = build(name)
    with pytest.raises(StrategyError, match=r"n >= 1") as caught:
        strategy.ask(n)  # type: ignore[arg-type]
    assert isinstance(caught.value, ValueError)


def test_ask_before_setup_says_to_set_up(name: str) -> None:
    with pytest.raises(StrategyError, match="set up"):
        make_strategy(name).ask(1)


def test_telling_an_unknown_or_already_told_config_is_refused(name: str) -> None:
    strategy = build(name)
    config = strategy.ask(2)[0]
    other = dict(config, dropout=0.123456)
    with pytest.raises(StrategyError, match="not told yet"):
        strategy.tell(other, metrics(other))
    strategy.tell(config, metrics(config))
    with pytest.raises(StrategyError, match="not told yet"):
        strategy.tell(config, metrics(config))


def test_restore_refuses_another_strategys_snapshot(name: str) -> None:
    other = "ga" if name != "ga" else "pso"
    donor = build(other)
    drive(donor, new_state(), budget=4)
    with pytest.raises(StrategyError, match=f"{other!r}"):
        build(name).restore(donor.snapshot())


def test_restore_refuses_another_format(name: str) -> None:
    snapshot = dict(build(name).snapshot(), format=99)
    with pytest.raises(StrategyError, match="format"):
        build(name).restore(snapshot)


def test_restore_refuses_a_damaged_snapshot(name: str) -> None:
    donor = build(name)
    drive(donor, new_state(), budget=5)
    snapshot = donor.snapshot()
    del snapshot["space"]
    with pytest.raises(StrategyError, match="everything snapshot"):
        build(name).restore(snapshot)


def test_restore_refuses_another_search_space(name: str) -> None:
    donor = build(name)
    drive(donor, new_state(), budget=5)
    other = make_strategy(name)
    other.setup(SearchSpace({"learning_rate": Continuous(1e-4, 1e-1)}), objectives_for(name))
    with pytest.raises(StrategyError, match="search space"):
        other.restore(donor.snapshot())


def test_restore_takes_the_options_of_the_snapshot() -> None:
    donor = build("ga", mutation_rate=0.3, population_size=5)
    state = drive(donor, new_state(), budget=30, stop_after=7)
    plain = build("ga")
    plain.restore(json.loads(json.dumps(donor.snapshot())))
    assert plain.options == donor.options
    left = drive(donor, json.loads(json.dumps(state)), budget=30)
    right = drive(plain, json.loads(json.dumps(state)), budget=30)
    assert left["asked"] == right["asked"]


def test_options_rebuild_an_equal_strategy(name: str) -> None:
    strategy = make_strategy(name)
    twin = make_strategy(strategy.name, **strategy.options)
    assert twin.options == strategy.options
    assert objectives_for(name)  # every registered name has a scenario
