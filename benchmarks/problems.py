"""Benchmark problems with known optima, as search functions and as simulated training jobs.

- The test functions of :mod:`benchmarks.functions`, each given a job duration
  that grows with the hyperparameters that make training longer (more
  epochs, more units, more steps), times log-normal noise.
- **digits-mlp**: the digits MLP of ``entry_points/digits_mlp.py``, trained
  here once over a grid (``benchmarks/digits_table.py``) and interpolated
  between the runs by :class:`byohpo.simulator.TableProblem`. Its durations
  are the measured training seconds, scaled by :data:`DIGITS_DURATION_SCALE`
  to stand for a dataset that many times bigger. Its optimum is the best run
  of the table (interpolation never exceeds the runs it lies between).
- **svm-cancer** and **gbm-diabetes**: scikit-learn models cross-validated
  on datasets that ship with scikit-learn, tabulated once over a grid
  (``benchmarks/sklearn_tables.py``) and interpolated the same way.
"""

from __future__ import annotations

import math
import random
import statistics
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

from benchmarks.functions import FUNCTIONS, BenchmarkFunction
from benchmarks.sklearn_tables import GRIDS
from byohpo.simulator import FunctionProblem, Problem, TableProblem
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace

DIGITS_TABLE = Path(__file__).parent / "data" / "digits_mlp.csv"
DIGITS_METRIC = "validation:accuracy"
DIGITS_DURATION_SCALE = 1800.0
"""Measured seconds times this (a dataset that many times bigger): 30 epochs take 4-30 min."""

DIGITS_SPACE = SearchSpace(
    {
        "learning_rate": Continuous(1e-4, 0.3, scaling="log"),
        "optimizer": Categorical(["sgd", "adam"]),
        "hidden_units": Integer(16, 256, scaling="log"),
        "batch_size": Integer(32, 128, scaling="log"),
        "num_epoch": Integer(1, 30),
    }
)


@cache
def digits_table(duration_sigma: float = 0.0) -> TableProblem:
    """The digits MLP runs as a simulated problem (metrics ``validation:accuracy`` and
    ``validation:loss``; the learning curve over epochs; resumable from a checkpoint)."""
    return TableProblem.from_csv(
        DIGITS_TABLE,
        parameters=list(DIGITS_SPACE),
        metrics=[DIGITS_METRIC, "validation:loss"],
        log_scale={"learning_rate", "hidden_units", "batch_size"},
        curve="num_epoch",
        duration_scale=DIGITS_DURATION_SCALE,
        duration_sigma=duration_sigma,
    )


def _digits_accuracy(config: Config) -> float:
    return digits_table().evaluate(config)[0][DIGITS_METRIC]


@cache
def digits_function() -> BenchmarkFunction:
    """The digits MLP's validation accuracy as a search function (maximized)."""
    return BenchmarkFunction(
        name="digits-mlp",
        space=DIGITS_SPACE,
        objective=_digits_accuracy,
        optimum=digits_table().best(DIGITS_METRIC),
        direction="maximize",
    )


SKLEARN_SPACES: Mapping[str, SearchSpace] = {
    "svm-cancer": SearchSpace(
        {
            "C": Continuous(1e-2, 1e3, scaling="log"),
            "gamma": Continuous(1e-5, 10.0, scaling="log"),
            "kernel": Categorical(["rbf", "sigmoid"]),
        }
    ),
    "gbm-diabetes": SearchSpace(
        {
            "learning_rate": Continuous(0.01, 1.0, scaling="log"),
            "max_iter": Integer(10, 100, scaling="log"),
            "max_leaf_nodes": Integer(3, 31, scaling="log"),
            "min_samples_leaf": Integer(2, 100, scaling="log"),
        }
    ),
}
"""The spaces of the scikit-learn problems of ``benchmarks/sklearn_tables.py``."""


@cache
def sklearn_table(name: str) -> tuple[TableProblem, str]:
    """A scikit-learn problem's table (interpolated between its grid points) and its metric."""
    grid = next(g for g in GRIDS if g.name == name)
    space = SKLEARN_SPACES[name]
    log_scale = {p for p in space if getattr(space[p], "scaling", "linear") == "log"}
    table = TableProblem.from_csv(
        grid.path, parameters=list(space), metrics=[grid.metric], log_scale=log_scale
    )
    return table, grid.metric


def _sklearn_objective(name: str) -> Callable[[Config], float]:
    def objective(config: Config) -> float:
        table, metric = sklearn_table(name)
        return table.evaluate(config)[0][metric]

    return objective


@cache
def sklearn_functions() -> tuple[BenchmarkFunction, ...]:
    """Cross-validated scores of scikit-learn models on its bundled datasets (maximized)."""
    functions = []
    for name, space in SKLEARN_SPACES.items():
        table, metric = sklearn_table(name)
        functions.append(
            BenchmarkFunction(
                name=name,
                space=space,
                objective=_sklearn_objective(name),
                optimum=table.best(metric),
                direction="maximize",
            )
        )
    return tuple(functions)


def all_functions() -> tuple[BenchmarkFunction, ...]:
    """Every single-objective problem: the test functions and the digits MLP."""
    return (*FUNCTIONS, digits_function())


DurationFn = Callable[[Mapping[str, Any]], float]

DURATIONS: Mapping[str, DurationFn] = {
    # more of the integer k (say, epochs): longer
    "branin-mixed": lambda hp: 120.0 * (1 + int(hp["k"])),
    # wider networks (units) take longer, for the static 10 epochs
    "rosenbrock-log": lambda hp: 6.0 * int(hp["epochs"]) * math.sqrt(int(hp["units"])),
    # more steps: longer
    "ackley-mixed": lambda hp: 300.0 * (1 + 0.3 * (int(hp["steps"]) + 5)),
    # deeper networks and smaller batches: longer
    "mlp-accuracy": lambda hp: (
        3.0 * int(hp["epochs"]) * int(hp["layers"]) * math.sqrt(1024 / int(hp["batch_size"]))
    ),
}
"""Median training seconds of a job, from its hyperparameters (a few minutes to an hour)."""


@dataclass(frozen=True)
class SimulatedFunction:
    """A benchmark function as simulated training jobs: the problem and the metric it reports."""

    function: BenchmarkFunction
    problem: Problem
    metric: str


def simulated(function: BenchmarkFunction, duration_sigma: float = 0.5) -> SimulatedFunction:
    """The function as simulated training jobs (the test functions report ``objective``)."""
    if function.name == "digits-mlp":
        return SimulatedFunction(function, digits_table(duration_sigma), DIGITS_METRIC)
    problem = FunctionProblem(
        lambda hp: {"objective": function.objective(dict(hp))},
        duration=DURATIONS[function.name],
        duration_sigma=duration_sigma,
    )
    return SimulatedFunction(function, problem, "objective")


@dataclass(frozen=True)
class Scale:
    """What a regret is measured against: a typical random configuration's regret."""

    median_regret: float

    def normalized(self, regret: float) -> float:
        """0 at the optimum, 1 for a typical random configuration."""
        return regret / self.median_regret if self.median_regret > 0 else math.nan


@cache
def scale(function: BenchmarkFunction, samples: int = 10_000) -> Scale:
    """The median regret of ``samples`` uniform random configurations (seed 0)."""
    rng = random.Random(0)
    regrets = [
        function.regret(function.objective(function.space.sample(rng))) for _ in range(samples)
    ]
    return Scale(statistics.median(regrets))
