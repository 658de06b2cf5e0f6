"""Three more mixed-type test functions with known optima, for the model-based comparison.

Like :mod:`benchmarks.functions`: each is a classic test function reached
through the parameter types of SageMaker spaces (log scales, integers,
categoricals whose values are not ordered), with its optimum inside the space.
"""

from __future__ import annotations

import math

from benchmarks.functions import BenchmarkFunction
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace, Static

_HARTMANN_A = (
    (10.0, 3.0, 17.0, 3.5, 1.7, 8.0),
    (0.05, 10.0, 17.0, 0.1, 8.0, 14.0),
    (3.0, 3.5, 1.7, 10.0, 17.0, 8.0),
    (17.0, 8.0, 0.05, 10.0, 0.1, 14.0),
)
_HARTMANN_P = (
    (0.1312, 0.1696, 0.5569, 0.0124, 0.8283, 0.5886),
    (0.2329, 0.4135, 0.8307, 0.3736, 0.1004, 0.9991),
    (0.2348, 0.1451, 0.3522, 0.2883, 0.3047, 0.6650),
    (0.4047, 0.8828, 0.8732, 0.5743, 0.1091, 0.0381),
)
_HARTMANN_ALPHA = (1.0, 1.2, 3.0, 3.2)


def _hartmann6(x: list[float]) -> float:
    return -sum(
        alpha * math.exp(-sum(a * (xi - p) ** 2 for a, xi, p in zip(row, x, prow, strict=True)))
        for alpha, row, prow in zip(_HARTMANN_ALPHA, _HARTMANN_A, _HARTMANN_P, strict=True)
    )


def _hartmann_mixed(config: Config) -> float:
    x = [
        float(config["x1"]),
        float(config["x2"]),
        float(config["x3"]),
        float(config["x4"]),
        (math.log10(float(config["learning_rate"])) + 5.0) / 4.0,  # 1e-5..0.1 -> 0..1
        float(config["x6"]),
    ]
    penalty = {"sgd": 0.3, "adam": 0.0, "rmsprop": 0.6}[str(config["optimizer"])]
    return _hartmann6(x) + penalty + 0.05 * (int(config["layers"]) - 4) ** 2


HARTMANN_MIXED = BenchmarkFunction(
    name="hartmann6-mixed",
    space=SearchSpace(
        {
            "x1": Continuous(0.0, 1.0),
            "x2": Continuous(0.0, 1.0),
            "x3": Continuous(0.0, 1.0),
            "x4": Continuous(0.0, 1.0),
            "learning_rate": Continuous(1e-5, 0.1, scaling="log"),
            "x6": Continuous(0.0, 1.0),
            "optimizer": Categorical(["sgd", "adam", "rmsprop"]),
            "layers": Integer(1, 8),
        }
    ),
    objective=_hartmann_mixed,
    optimum=-3.322368011415515,
    direction="minimize",
)
"""6-D Hartmann (one dimension as a log-scaled rate) plus a categorical and an integer."""


def _levy_mixed(config: Config) -> float:
    x = [
        float(config["a"]),
        float(config["k"]),
        math.log2(int(config["batch_size"])) - 5.0,  # 64 -> 1
        float(config["b"]),
    ]
    w = [1.0 + (v - 1.0) / 4.0 for v in x]
    value = math.sin(math.pi * w[0]) ** 2
    value += sum((wi - 1) ** 2 * (1 + 10 * math.sin(math.pi * wi + 1) ** 2) for wi in w[:-1])
    value += (w[-1] - 1) ** 2 * (1 + math.sin(2 * math.pi * w[-1]) ** 2)
    return value + {"sgd": 0.5, "adam": 0.0, "rmsprop": 1.0, "adagrad": 2.0}[str(config["opt"])]


LEVY_MIXED = BenchmarkFunction(
    name="levy-mixed",
    space=SearchSpace(
        {
            "a": Continuous(-10.0, 10.0),
            "k": Integer(-10, 10),
            "batch_size": Integer(8, 1024, scaling="log"),
            "b": Continuous(-10.0, 10.0),
            "opt": Categorical(["sgd", "adam", "rmsprop", "adagrad"]),
        }
    ),
    objective=_levy_mixed,
    optimum=0.0,
    direction="minimize",
)
"""4-D Levy (rugged) through an integer and a log-scaled integer, plus a categorical."""

_STYBLINSKI_MIN = -39.16616570377142
"""Styblinski-Tang's minimum per dimension (at x = -2.903534)."""


def _styblinski_mixed(config: Config) -> float:
    x = [float(config["x1"]), float(config["x2"]), float(config["x3"])]
    value = 0.5 * sum(v**4 - 16 * v**2 + 5 * v for v in x)
    value += {"mse": 3.0, "huber": 0.0, "l1": 6.0}[str(config["loss"])]
    return value + 0.5 * abs(int(config["warmup"]) - 3)


STYBLINSKI_MIXED = BenchmarkFunction(
    name="styblinski-mixed",
    space=SearchSpace(
        {
            "x1": Continuous(-5.0, 5.0),
            "x2": Continuous(-5.0, 5.0),
            "x3": Continuous(-5.0, 5.0),
            "loss": Categorical(["mse", "huber", "l1"]),
            "warmup": Integer(0, 10),
            "epochs": Static(30),
        }
    ),
    objective=_styblinski_mixed,
    optimum=3 * _STYBLINSKI_MIN,
    direction="minimize",
)
"""3-D Styblinski-Tang (a local minimum per dimension) plus a categorical and an integer."""

MORE_FUNCTIONS: tuple[BenchmarkFunction, ...] = (HARTMANN_MIXED, LEVY_MIXED, STYBLINSKI_MIXED)
