"""The individuals an evolutionary strategy keeps, and their JSON form.

inspyred's individuals carry a candidate (a point of the unit cube, for
evolution strategies followed by step sizes) and a fitness (a number, or an
``emo.Pareto`` of scores). byohpo adds whether the trial failed, so a failure
can be re-scored as results arrive (see :mod:`byohpo.strategies._evolutionary`).
"""

from __future__ import annotations

import hashlib
import logging
import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from inspyred import ec as iec
from inspyred.ec import emo

from byohpo.space import Config


def new_computation(factory: Callable[[random.Random], Any], rng: random.Random) -> Any:
    """An inspyred computation built by ``factory(rng)``, without the logging handler it adds.

    Every ``EvolutionaryComputation`` constructor adds a handler to the
    ``inspyred.ec`` logger; a process that builds strategies repeatedly would
    otherwise collect them without bound.
    """
    logger = logging.getLogger("inspyred.ec")
    before = list(logger.handlers)
    try:
        return factory(rng)
    finally:
        for handler in list(logger.handlers):
            if handler not in before:
                logger.removeHandler(handler)


def unit_bounder(dimension: int) -> Any:
    """A bounder that clips to ``[0, 1]`` per coordinate, keeping floats floats.

    Bounds are lists of floats: scalar bounds make inspyred store
    ``itertools.repeat`` objects (which cannot be snapshotted), and integer
    bounds would turn clipped coordinates into ints.
    """
    return iec.Bounder([0.0] * dimension, [1.0] * dimension)


class Evaluated(iec.Individual):
    """An inspyred individual that remembers whether its trial failed."""

    def __init__(self, candidate: list[float], failed: bool) -> None:
        super().__init__(candidate, maximize=True)
        self.failed = failed


@dataclass
class Member:
    """A configuration handed out and not yet settled: asked yet? told yet? with which scores?"""

    candidate: list[float]
    config: Config
    key: str
    asked: bool = False
    told: bool = False
    scores: list[float] | None = None


def digest(key: str) -> str:
    """A short fingerprint of a configuration's key (what the seen-set stores)."""
    return hashlib.blake2b(key.encode(), digest_size=8).hexdigest()


def individual_state(individual: Any) -> dict[str, Any]:
    """An individual as JSON data."""
    fitness = individual.fitness
    data: dict[str, Any] = {
        "candidate": list(individual.candidate),
        "fitness": list(fitness.values) if isinstance(fitness, emo.Pareto) else fitness,
        "failed": individual.failed,
    }
    if hasattr(individual, "grid_location"):
        data["grid_location"] = individual.grid_location
    return data


def individual_from(data: Mapping[str, Any], *, pareto: bool) -> Evaluated:
    """The individual written by :func:`individual_state` (``pareto``: the fitness is a Pareto)."""
    individual = Evaluated(list(data["candidate"]), failed=bool(data["failed"]))
    fitness = data["fitness"]
    individual.fitness = emo.Pareto(list(fitness)) if pareto else fitness
    if "grid_location" in data:
        individual.grid_location = data["grid_location"]
    return individual
