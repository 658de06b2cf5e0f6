"""inspyred's self-adaptive evolution strategy."""

from __future__ import annotations

import random
from typing import Any, ClassVar

from inspyred import ec as iec
from inspyred.ec import selectors

from byohpo.strategies import _options as options
from byohpo.strategies._evolutionary import EvolutionaryStrategy


class EvolutionStrategy(EvolutionaryStrategy):
    """A (μ+λ) evolution strategy with self-adapted step sizes (inspyred's ``ES``).

    Each generation, ``population_size`` parents are picked by tournaments of
    ``tournament_size`` (with ``tournament_size=1`` every member is a parent
    once, as in inspyred's ``ES``) and each is mutated once. Each coordinate
    carries its own step size, which evolves with it (log-normal updates with
    inspyred's ``tau`` and ``tau_prime``, never below ``min_step``). The best
    ``population_size`` of parents and offspring survive ("plus" replacement).
    Tournaments let the better members breed more often, which pays off
    within the few generations of a typical study.

    As in inspyred, a candidate is the point followed by its step sizes,
    twice the search space's dimension; only the point is decoded into a
    configuration. Step sizes start at ``mutation_scale`` (inspyred draws
    them uniformly in ``[0, 1]``, which is the whole range of a parameter).
    """

    breeds_asynchronously: ClassVar[bool] = True
    name: ClassVar[str] = "es"
    min_population: ClassVar[int] = 1

    def __init__(
        self,
        *,
        population_size: int | None = None,
        mutation_scale: float = 0.1,
        min_step: float = 1e-5,
        tau: float | None = None,
        tau_prime: float | None = None,
        tournament_size: int = 3,
        islands: int = 1,
        migration_interval: int | None = None,
        migrants: int | None = None,
        migration_topology: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(
            population_size=population_size,
            seed=seed,
            islands=islands,
            migration_interval=migration_interval,
            migrants=migrants,
            migration_topology=migration_topology,
        )
        owner = type(self).__name__
        self.mutation_scale = options.positive(owner, "mutation_scale", mutation_scale)
        self.min_step = options.positive(owner, "min_step", min_step)
        self.tau = options.optional_positive(owner, "tau", tau)
        self.tau_prime = options.optional_positive(owner, "tau_prime", tau_prime)
        self.tournament_size = options.whole(owner, "tournament_size", tournament_size, 1)
        self._options.update(
            mutation_scale=self.mutation_scale,
            min_step=self.min_step,
            tau=self.tau,
            tau_prime=self.tau_prime,
            tournament_size=self.tournament_size,
        )

    def _computation(self, rng: random.Random) -> Any:
        es = iec.ES(rng)
        if self.tournament_size > 1:
            es.selector = selectors.tournament_selection
        return es

    def _generate(self) -> list[float]:
        point = super()._generate()
        return point + [self.mutation_scale] * len(point)

    def _child_arguments(self) -> dict[str, Any]:
        return {"num_selected": 1}  # one parent, mutated with its own step sizes

    def _arguments(self, size: int) -> dict[str, Any]:
        return {
            "tau": self.tau,
            "tau_prime": self.tau_prime,
            "epsilon": self.min_step,
            "num_selected": size,
            "tournament_size": self.tournament_size,
        }
