"""Particle swarm optimization."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from inspyred import swarm

from byohpo.strategies import _options as options
from byohpo.strategies._evolutionary import EvolutionaryStrategy


class ParticleSwarm(EvolutionaryStrategy):
    """Particle swarm optimization (inspyred's ``PSO``), one particle per population member.

    Each particle moves by ``inertia`` times its last move, plus random pulls
    toward its own best position (``cognitive_rate``) and toward the best of
    its neighbours (``social_rate``); positions are clipped to each
    parameter's range. Neighbours are the whole swarm (``topology="star"``)
    or the ``neighborhood_size`` particles around it (``"ring"``). As in
    inspyred, the velocity is the difference to the previous position, so
    the previous population is part of the state. The default inertia, 0.7,
    beat inspyred's 0.5 at 200 evaluations in ``docs/benchmarks.md``.
    """

    name: ClassVar[str] = "pso"
    min_population: ClassVar[int] = 2

    def __init__(
        self,
        *,
        population_size: int | None = None,
        inertia: float = 0.7,
        cognitive_rate: float = 1.5,
        social_rate: float = 1.5,
        topology: str = "star",
        neighborhood_size: int = 3,
        seed: int | None = None,
    ) -> None:
        super().__init__(population_size=population_size, seed=seed)
        owner = type(self).__name__
        self.inertia = options.non_negative(owner, "inertia", inertia)
        self.cognitive_rate = options.non_negative(owner, "cognitive_rate", cognitive_rate)
        self.social_rate = options.non_negative(owner, "social_rate", social_rate)
        self.topology = options.choice(owner, "topology", topology, ("star", "ring"))
        self.neighborhood_size = options.whole(owner, "neighborhood_size", neighborhood_size, 1)
        self._options.update(
            inertia=self.inertia,
            cognitive_rate=self.cognitive_rate,
            social_rate=self.social_rate,
            topology=self.topology,
            neighborhood_size=self.neighborhood_size,
        )

    def _computation(self, rng: random.Random) -> Any:
        pso = swarm.PSO(rng)
        if self.topology == "ring":
            pso.topology = swarm.topologies.ring_topology
        return pso

    def _arguments(self, size: int) -> dict[str, Any]:
        return {
            "inertia": self.inertia,
            "cognitive_rate": self.cognitive_rate,
            "social_rate": self.social_rate,
            "neighborhood_size": self.neighborhood_size,
        }

    def _extra_individuals(self) -> list[Any]:
        return list(self._ec._previous_population)

    def _extra_state(self, ref: Callable[[Any], int]) -> dict[str, Any]:
        return {"previous_population": [ref(i) for i in self._ec._previous_population]}

    def _restore_extra(self, extra: Mapping[str, Any], individuals: list[Any]) -> None:
        self._ec._previous_population = [individuals[i] for i in extra["previous_population"]]
