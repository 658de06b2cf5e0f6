"""A small study every strategy runs in the tests: a mixed space, a metric, a driver.

Run as a script, it is the "other process" of the snapshot tests: it reads
runs as JSON on stdin (strategy name, options, objectives, snapshot text and
the driver's state), restores each strategy from its snapshot text, drives it
to the end, and writes the final driver states as JSON on stdout.
"""

from __future__ import annotations

import json
import math
import sys
from collections.abc import Mapping
from typing import Any

from byohpo.objectives import Objective
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace, Static
from byohpo.strategies import Strategy, Suggestion, make_strategy
from byohpo.strategies._suggestion import parent_of

SPACE = SearchSpace(
    {
        "learning_rate": Continuous(1e-4, 1e-1, scaling="log"),
        "momentum": Continuous(0.5, 0.99, scaling="reverse_log"),
        "dropout": Continuous(0.0, 0.5),
        "layers": Integer(1, 6),
        "units": Integer(16, 512, scaling="log"),
        "optimizer": Categorical(["sgd", "adam", "rmsprop"]),
        "batch_norm": Categorical([True, False]),
        "kernel": Categorical([3, 5, 7]),
        "epochs": Static(10),
    }
)

LOSS = Objective("validation:loss", "minimize")
SECONDS = Objective("train:seconds", "minimize")


def objectives_for(name: str) -> list[Objective]:
    """Two objectives for strategies that rank several, one otherwise."""
    return [LOSS, SECONDS] if make_strategy(name).supports_multi_objective else [LOSS]


def metrics(config: Mapping[str, Any]) -> dict[str, float] | None:
    """The job's metrics, or None when it fails (rmsprop with five or more layers)."""
    if config["optimizer"] == "rmsprop" and config["layers"] >= 5:
        return None
    loss = (
        (math.log10(config["learning_rate"]) + 2.0) ** 2
        + 0.1 * (config["layers"] - 3) ** 2
        + (config["dropout"] - 0.2) ** 2
        + 0.3 * (config["optimizer"] != "adam")
        + 0.05 * (config["kernel"] - 5) ** 2
        + (0.0 if config["batch_norm"] else 0.2)
        + 0.1 * math.log10(1.0 - config["momentum"]) ** 2
    )
    seconds = config["layers"] * math.log2(config["units"]) * (1.5 if config["batch_norm"] else 1.0)
    return {"validation:loss": loss, "train:seconds": seconds, "train:loss": loss / 2}


def build(name: str, seed: int = 3, **options: Any) -> Strategy:
    """The named strategy, set up for the scenario's space and objectives."""
    strategy = make_strategy(name, seed=seed, **options)
    strategy.setup(SPACE, objectives_for(name))
    return strategy


def new_state() -> dict[str, Any]:
    """The driver's state before the study starts (JSON data).

    ``lineage`` holds ``[trial id, parent]`` of each configuration in flight
    (the position in ``asked`` is the trial id, as the tuner numbers trials).
    """
    return {"asked": [], "in_flight": [], "lineage": [], "told": 0}


def drive(
    strategy: Strategy,
    state: dict[str, Any],
    *,
    budget: int,
    slots: int = 4,
    stop_after: int | None = None,
) -> dict[str, Any]:
    """Keep ``slots`` jobs running until ``budget`` results were told (or ``stop_after``).

    Free slots are asked for after every result, and the newest job finishes
    first, so results arrive out of ask order, as they do on SageMaker. Each
    result is told as the tuner tells it: a :class:`Suggestion` naming its
    trial id and parent.
    """
    while state["told"] < budget:
        free = slots - len(state["in_flight"])
        if free > 0:
            fresh = strategy.ask(free)
            for config in fresh:
                state["lineage"].append([len(state["asked"]), parent_of(config)])
                state["asked"].append(config)
            state["in_flight"].extend(fresh)
        if not state["in_flight"]:
            raise AssertionError(f"{strategy.name} asked nothing while no job was running")
        config: Config = state["in_flight"].pop()
        trial_id, parent = state["lineage"].pop()
        strategy.tell(Suggestion(config, parent=parent, trial_id=trial_id), metrics(config))
        state["told"] += 1
        if state["told"] == stop_after:
            break
    return state


def main() -> None:
    runs = json.load(sys.stdin)
    results = []
    for run in runs:
        strategy = make_strategy(run["name"], **run["options"])
        strategy.setup(SPACE, objectives_for(run["name"]))
        strategy.restore(json.loads(run["snapshot"]))
        results.append(drive(strategy, run["state"], budget=run["budget"], slots=run["slots"]))
    json.dump(results, sys.stdout)


if __name__ == "__main__":
    main()
