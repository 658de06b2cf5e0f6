"""A strategy of the user's own, behind byohpo's interface."""

from __future__ import annotations

import json
import random
from typing import Any

import numpy as np
import pytest

from byohpo.errors import StrategyError
from byohpo.strategies import UserStrategy, make_strategy

from .scenario import LOSS, SECONDS, SPACE, metrics


class Grid:
    """Walks through learning rates; remembers what it was told."""

    def __init__(self) -> None:
        self.next = 0
        self.told: list[tuple[dict[str, Any], dict[str, float] | None]] = []

    def ask(self, n: int) -> list[dict[str, Any]]:
        configs = []
        for _ in range(n):
            configs.append(
                {
                    "learning_rate": [0.001, 0.01, 0.1][self.next % 3],
                    "momentum": 0.9,
                    "dropout": 0.1,
                    "layers": 2 + self.next,
                    "units": 64,
                    "optimizer": "adam",
                    "batch_norm": True,
                    "kernel": 3,
                }  # "epochs" is static: left out, filled in
            )
            self.next += 1
        return configs

    def tell(self, config: dict[str, Any], metrics: dict[str, float] | None) -> None:
        self.told.append((config, metrics))


class Restorable(Grid):
    supports_async = True

    def snapshot(self) -> dict[str, Any]:
        return {"next": self.next}

    def restore(self, state: dict[str, Any]) -> None:
        self.next = state["next"]


def wrap(user: Any) -> UserStrategy:
    strategy = make_strategy(user)
    assert isinstance(strategy, UserStrategy)
    strategy.setup(SPACE, [LOSS])
    return strategy


def test_configs_come_from_the_users_ask_with_static_values_filled_in() -> None:
    strategy = wrap(Grid())
    configs = strategy.ask(2)
    assert [c["learning_rate"] for c in configs] == [0.001, 0.01]
    assert all(c["epochs"] == 10 for c in configs)
    SPACE.validate(configs[0])


def test_results_reach_the_user_with_the_dict_it_returned() -> None:
    user = Grid()
    strategy = wrap(user)
    first, second = strategy.ask(2)
    strategy.tell(second, None)
    strategy.tell(first, metrics(first))
    assert user.told[0][1] is None  # a failed job
    assert user.told[1][1] == metrics(first)
    assert "epochs" not in user.told[1][0]  # the very dict the user's ask returned


@pytest.mark.parametrize(
    ("returned", "complaint"),
    [
        ({"learning_rate": 0.01}, "must return a list"),
        ("lr=0.01", "must return a list"),
        ([1], "configuration dicts"),
        ([{"learning_rate": 0.01}], "missing"),
        ([dict.fromkeys(SPACE, 1)], "must lie in"),
    ],
)
def test_a_bad_answer_from_the_users_ask_names_the_class(returned: object, complaint: str) -> None:
    class Broken:
        def ask(self, n: int) -> object:
            return returned

        def tell(self, config: dict[str, Any], metrics: dict[str, float] | None) -> None:
            pass

    with pytest.raises(StrategyError, match=complaint) as caught:
        wrap(Broken()).ask(1)
    assert "Broken.ask(n)" in str(caught.value)


def test_a_float_for_an_integer_is_refused_and_numpy_numbers_accepted() -> None:
    user = Grid()
    strategy = wrap(user)
    original = user.ask

    def ask_float(n: int) -> list[dict[str, Any]]:
        return [dict(c, layers=2.0) for c in original(n)]

    user.ask = ask_float  # type: ignore[method-assign]
    with pytest.raises(StrategyError, match="layers must lie in"):
        strategy.ask(1)

    def ask_numpy(n: int) -> list[dict[str, Any]]:
        return [dict(c, layers=np.int64(2), dropout=np.float64(0.25)) for c in original(n)]

    user.ask = ask_numpy  # type: ignore[method-assign]
    (config,) = strategy.ask(1)
    assert type(config["layers"]) is int and type(config["dropout"]) is float
    assert json.dumps(config)


def test_more_configs_than_slots_is_refused() -> None:
    user = Grid()
    strategy = wrap(user)
    user.ask = lambda n: Grid().ask(n + 1)  # type: ignore[method-assign]
    with pytest.raises(StrategyError, match="at most n"):
        strategy.ask(2)


def test_capabilities_come_from_the_users_object() -> None:
    assert wrap(Grid()).supports_async is False
    assert wrap(Restorable()).supports_async is True
    both = make_strategy(Grid())
    both.setup(SPACE, [LOSS, SECONDS])  # several objectives: the user's object judges them


def test_without_snapshot_methods_the_state_is_recorded_as_not_restorable() -> None:
    strategy = wrap(Grid())
    strategy.ask(1)
    snapshot = strategy.snapshot()
    assert snapshot["restorable"] is False
    assert json.loads(json.dumps(snapshot)) == snapshot
    with pytest.raises(StrategyError, match=r"snapshot\(\) and restore\(state\)"):
        wrap(Grid()).restore(snapshot)


def test_with_snapshot_methods_a_study_resumes() -> None:
    strategy = wrap(Restorable())
    configs = strategy.ask(3)
    strategy.tell(configs[0], metrics(configs[0]))
    text = json.dumps(strategy.snapshot())

    fresh_user = Restorable()
    resumed = wrap(fresh_user)
    resumed.restore(json.loads(text))
    assert fresh_user.next == 3
    resumed.tell(configs[2], metrics(configs[2]))  # asked before the interruption
    assert resumed.ask(1)[0]["layers"] == 5


def test_a_user_snapshot_that_is_not_json_is_refused() -> None:
    user = Restorable()
    user.snapshot = lambda: {"rng": random.Random(1)}  # type: ignore[method-assign]
    with pytest.raises(StrategyError, match="JSON-serializable"):
        wrap(user).snapshot()


def test_unknown_config_is_refused() -> None:
    strategy = wrap(Grid())
    (config,) = strategy.ask(1)
    with pytest.raises(StrategyError, match="not told yet"):
        strategy.tell(dict(config, layers=6), None)
