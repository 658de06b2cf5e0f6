"""Standard test functions recast as hyperparameter searches with mixed parameter types.

Each :class:`BenchmarkFunction` is a search space (continuous, log-scaled,
reverse-log, integer and categorical dimensions, plus a static value), an
objective computed from a configuration, the known optimum of the objective
over the space, and whether it is minimized or maximized. The optimum is
exact for the real-valued function; a decoded configuration (rounded to six
significant digits) can come within about 1e-6 of it.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace, Static


@dataclass(frozen=True)
class BenchmarkFunction:
    """A search space with an objective whose optimum is known."""

    name: str
    space: SearchSpace
    objective: Callable[[Config], float]
    optimum: float
    direction: str  # "minimize" or "maximize"

    def regret(self, value: float) -> float:
        """How far ``value`` is from the optimum (0 at the optimum, never negative)."""
        gap = value - self.optimum if self.direction == "minimize" else self.optimum - value
        return max(gap, 0.0)


def _branin(x1: float, x2: float) -> float:
    a, b, c = 1.0, 5.1 / (4 * math.pi**2), 5 / math.pi
    r, s, t = 6.0, 10.0, 1 / (8 * math.pi)
    return a * (x2 - b * x1**2 + c * x1 - r) ** 2 + s * (1 - t) * math.cos(x1) + s


def _branin_mixed(config: Config) -> float:
    penalty = {"exact": 0.0, "shifted": 2.0, "noisy": 5.0}[str(config["variant"])]
    k = int(config["k"])
    return _branin(float(config["x1"]), float(config["x2"])) + 0.1 * (k - 5) ** 2 + penalty


BRANIN_MIXED = BenchmarkFunction(
    name="branin-mixed",
    space=SearchSpace(
        {
            "x1": Continuous(-5.0, 10.0),
            "x2": Continuous(0.0, 15.0),
            "k": Integer(0, 15),
            "variant": Categorical(["exact", "shifted", "noisy"]),
        }
    ),
    objective=_branin_mixed,
    optimum=0.397887357729738,
    direction="minimize",
)
"""Branin (three global minima) plus an integer and a categorical dimension."""


def _rosenbrock_log(config: Config) -> float:
    x = [
        math.log10(float(config["learning_rate"])) + 4.0,
        float(config["x"]),
        math.log2(int(config["units"])) - 6.0,
        float(config["depth"]),
    ]
    return sum(100.0 * (x[i + 1] - x[i] ** 2) ** 2 + (1.0 - x[i]) ** 2 for i in range(3))


ROSENBROCK_LOG = BenchmarkFunction(
    name="rosenbrock-log",
    space=SearchSpace(
        {
            "learning_rate": Continuous(1e-5, 1e-1, scaling="log"),
            "x": Continuous(-2.0, 2.0),
            "units": Integer(16, 1024, scaling="log"),
            "depth": Integer(-2, 3),
            "epochs": Static(10),
        }
    ),
    objective=_rosenbrock_log,
    optimum=0.0,
    direction="minimize",
)
"""4-D Rosenbrock via a log rate, a log integer and a plain integer (0 at 1e-3, 1, 128, 1)."""


def _ackley_mixed(config: Config) -> float:
    x = [
        float(config["a"]),
        float(config["b"]),
        float(config["steps"]),
        float(config["offset"]),
        2.0 * (math.log10(1.0 - float(config["momentum"])) + 1.0),
    ]
    n = len(x)
    return (
        -20.0 * math.exp(-0.2 * math.sqrt(sum(v * v for v in x) / n))
        - math.exp(sum(math.cos(2 * math.pi * v) for v in x) / n)
        + 20.0
        + math.e
    )


ACKLEY_MIXED = BenchmarkFunction(
    name="ackley-mixed",
    space=SearchSpace(
        {
            "a": Continuous(-5.0, 5.0),
            "b": Continuous(-5.0, 5.0),
            "steps": Integer(-5, 5),
            "offset": Categorical([-3, -1, 0, 1, 3]),
            "momentum": Continuous(0.5, 0.999, scaling="reverse_log"),
        }
    ),
    objective=_ackley_mixed,
    optimum=0.0,
    direction="minimize",
)
"""5-D Ackley (many local minima) with integer, numeric-categorical and reverse-log dimensions."""


def _mlp_accuracy(config: Config) -> float:
    lr = math.log10(float(config["learning_rate"]))
    momentum = math.log10(1.0 - float(config["momentum"]))
    batch = math.log2(int(config["batch_size"])) - 6.0
    layers = int(config["layers"])
    dropout = float(config["dropout"])
    activation = {"relu": 0.0, "tanh": 0.03, "sigmoid": 0.08}[str(config["activation"])]
    return (
        0.95
        - 0.04 * (lr + 2.5 - 0.3 * batch) ** 2  # the best rate grows with the batch
        - 0.03 * (momentum + 1.3) ** 2
        - 0.01 * batch**2
        - 0.005 * (layers - 3) ** 2
        - 0.3 * (dropout - 0.2) ** 2
        - activation
    )


MLP_ACCURACY = BenchmarkFunction(
    name="mlp-accuracy",
    space=SearchSpace(
        {
            "learning_rate": Continuous(1e-5, 1.0, scaling="log"),
            "momentum": Continuous(0.0, 0.999, scaling="reverse_log"),
            "batch_size": Integer(16, 1024, scaling="log"),
            "layers": Integer(1, 8),
            "dropout": Continuous(0.0, 0.8),
            "activation": Categorical(["relu", "tanh", "sigmoid"]),
            "epochs": Static(20),
        }
    ),
    objective=_mlp_accuracy,
    optimum=0.95,
    direction="maximize",
)
"""A smooth validation-accuracy surface over six typical training hyperparameters (maximized)."""


FUNCTIONS: tuple[BenchmarkFunction, ...] = (
    BRANIN_MIXED,
    ROSENBROCK_LOG,
    ACKLEY_MIXED,
    MLP_ACCURACY,
)
"""Every benchmark function, in the order the reports list them."""
