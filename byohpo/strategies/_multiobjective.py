"""Multi-objective algorithms: NSGA-II and PAES, each with a Pareto archive."""

from __future__ import annotations

import random
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, cast

from inspyred.ec import emo, variators

from byohpo.space import Config
from byohpo.strategies import _options as options
from byohpo.strategies._evolutionary import EvolutionaryStrategy
from byohpo.strategies._grid_archive import GridArchiver


@dataclass(frozen=True)
class ParetoPoint:
    """A configuration of the Pareto archive and its objective values (in the metrics' units)."""

    config: Config
    objectives: dict[str, float]


class ParetoStrategy(EvolutionaryStrategy):
    """An evolutionary strategy ranking trials by Pareto dominance over all objectives."""

    supports_multi_objective: ClassVar[bool] = True
    pareto_fitness: ClassVar[bool] = True

    def pareto_front(self) -> list[ParetoPoint]:
        """The trials found so far that no other trial beats on every objective.

        NSGA-II keeps every such trial; PAES at most ``max_archive_size``,
        spread over its grid. Failed trials are never part of it. Values are
        the metrics as reported (minimized ones are not negated).
        """
        self._require_setup()
        if self._archipelago is not None:
            islands = cast(list[ParetoStrategy], self._archipelago.islands)
            return self._non_dominated([p for island in islands for p in island.pareto_front()])
        front = []
        for individual in self._ec.archive:
            if individual.failed:
                continue
            config, _ = self._decode(individual.candidate)
            values = {
                o.metric: float(score if o.maximize else -score)
                for o, score in zip(self.objectives, individual.fitness.values, strict=True)
            }
            front.append(ParetoPoint(config, values))
        return front

    def _non_dominated(self, points: list[ParetoPoint]) -> list[ParetoPoint]:
        """The points (of several islands) no other point beats on every objective, each once."""
        unique = {self._config_key(p.config): p for p in points}
        sign = {o.metric: 1.0 if o.maximize else -1.0 for o in self.objectives}

        def beats(a: ParetoPoint, b: ParetoPoint) -> bool:
            at_least = all(sign[m] * a.objectives[m] >= sign[m] * b.objectives[m] for m in sign)
            return at_least and a.objectives != b.objectives

        kept = list(unique.values())
        return [p for p in kept if not any(beats(q, p) for q in kept)]


class NSGA2(ParetoStrategy):
    """NSGA-II (inspyred's ``NSGA2``) with real-valued variation.

    Binary tournaments pick parents; simulated binary crossover (with
    probability ``crossover_rate``, spread ``sbx_distribution_index``) and
    Gaussian mutation (``mutation_rate`` per coordinate, default one
    coordinate per child on average; step ``mutation_scale``) make the
    offspring; non-dominated sorting with crowding distance picks the next
    population from parents and offspring. inspyred's ``NSGA2`` has no
    variation of its own, which would re-evaluate its first population.

    The Pareto archive takes every evaluated trial, not only the survivors:
    inspyred archives the population after replacement, so a non-dominated
    trial cut by the crowding distance would be missing from the front.
    """

    breeds_asynchronously: ClassVar[bool] = True
    name: ClassVar[str] = "nsga2"
    min_population: ClassVar[int] = 2
    archive_offspring: ClassVar[bool] = True

    def __init__(
        self,
        *,
        population_size: int | None = None,
        tournament_size: int = 2,
        crossover_rate: float = 0.9,
        sbx_distribution_index: float = 10.0,
        mutation_rate: float | None = None,
        mutation_scale: float = 0.1,
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
        self.tournament_size = options.whole(owner, "tournament_size", tournament_size, 1)
        self.crossover_rate = options.rate(owner, "crossover_rate", crossover_rate)
        self.sbx_distribution_index = options.non_negative(
            owner, "sbx_distribution_index", sbx_distribution_index
        )
        self.mutation_rate = (
            None if mutation_rate is None else options.rate(owner, "mutation_rate", mutation_rate)
        )
        self.mutation_scale = options.positive(owner, "mutation_scale", mutation_scale)
        self._options.update(
            tournament_size=self.tournament_size,
            crossover_rate=self.crossover_rate,
            sbx_distribution_index=self.sbx_distribution_index,
            mutation_rate=self.mutation_rate,
            mutation_scale=self.mutation_scale,
        )

    def _computation(self, rng: random.Random) -> Any:
        nsga = emo.NSGA2(rng)
        nsga.variator = [variators.simulated_binary_crossover, variators.gaussian_mutation]
        return nsga

    def _arguments(self, size: int) -> dict[str, Any]:
        rate = self.mutation_rate if self.mutation_rate is not None else 1.0 / self.space.dimension
        return {
            "num_selected": size + size % 2,
            "tournament_size": self.tournament_size,
            "crossover_rate": self.crossover_rate,
            "sbx_distribution_index": self.sbx_distribution_index,
            "mutation_rate": rate,
            "gaussian_mean": 0.0,
            "gaussian_stdev": self.mutation_scale,
        }


class PAES(ParetoStrategy):
    """The Pareto Archived Evolution Strategy (inspyred's ``PAES``), as parallel mutants.

    PAES is a (1+1) evolution strategy: one current solution, one mutant per
    step, judged against a bounded archive of non-dominated trials spread
    over an adaptive grid of the objective space. Here each of the
    ``population_size`` members (by default one per parallel job) is such a
    current solution; every generation each proposes one Gaussian mutant
    (``mutation_rate`` per coordinate, step ``mutation_scale``), and all
    share one archive of at most ``max_archive_size`` trials on a grid of
    ``2 ** (objectives * num_grid_divisions)`` cells.
    """

    name: ClassVar[str] = "paes"
    min_population: ClassVar[int] = 1

    def __init__(
        self,
        *,
        population_size: int | None = None,
        mutation_rate: float = 1.0,
        mutation_scale: float = 0.1,
        max_archive_size: int = 50,
        num_grid_divisions: int = 3,
        seed: int | None = None,
    ) -> None:
        super().__init__(population_size=population_size, seed=seed)
        owner = type(self).__name__
        self.mutation_rate = options.rate(owner, "mutation_rate", mutation_rate)
        self.mutation_scale = options.positive(owner, "mutation_scale", mutation_scale)
        self.max_archive_size = options.whole(owner, "max_archive_size", max_archive_size, 1)
        self.num_grid_divisions = options.whole(owner, "num_grid_divisions", num_grid_divisions, 1)
        self._options.update(
            mutation_rate=self.mutation_rate,
            mutation_scale=self.mutation_scale,
            max_archive_size=self.max_archive_size,
            num_grid_divisions=self.num_grid_divisions,
        )

    def _computation(self, rng: random.Random) -> Any:
        paes = emo.PAES(rng)
        paes.archiver = GridArchiver()
        return paes

    def _arguments(self, size: int) -> dict[str, Any]:
        return {
            "mutation_rate": self.mutation_rate,
            "gaussian_mean": 0.0,
            "gaussian_stdev": self.mutation_scale,
            "max_archive_size": self.max_archive_size,
            "num_grid_divisions": self.num_grid_divisions,
        }

    def _extra_state(self, ref: Callable[[Any], int]) -> dict[str, Any]:
        return {"grid": self._ec.archiver.state()}

    def _restore_extra(self, extra: Mapping[str, Any], individuals: list[Any]) -> None:
        self._ec.archiver.set_state(extra["grid"])
