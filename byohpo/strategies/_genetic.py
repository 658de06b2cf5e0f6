"""Recombining algorithms: a genetic algorithm, inspyred's differential evolution and EDA."""

from __future__ import annotations

import math
import random
from typing import Any, ClassVar

from inspyred import ec as iec
from inspyred.ec import variators

from byohpo.strategies import _options as options
from byohpo.strategies._evolutionary import EvolutionaryStrategy


def _even(k: int) -> int:
    """Pairwise crossovers drop an odd last parent: select an even number."""
    return k + k % 2


class GeneticAlgorithm(EvolutionaryStrategy):
    """A real-coded genetic algorithm: inspyred's ``GA`` with operators for real numbers.

    Each generation, rank selection picks parents; pairs are recombined with
    probability ``crossover_rate`` by blend crossover (``"blend"``, BLX-α with
    ``blend_alpha``) or simulated binary crossover (``"sbx"``); each
    coordinate then moves with probability ``mutation_rate`` by a Gaussian
    step of standard deviation ``mutation_scale`` (the unit cube is the whole
    range of every parameter), clipped to the range. Generational
    replacement keeps the ``num_elites`` best parents when they beat the
    worst offspring. inspyred's default bit-flip mutation would leave real
    candidates unchanged, hence these operators.
    """

    breeds_asynchronously: ClassVar[bool] = True
    name: ClassVar[str] = "ga"
    min_population: ClassVar[int] = 2

    def __init__(
        self,
        *,
        population_size: int | None = None,
        crossover: str = "blend",
        crossover_rate: float = 0.9,
        blend_alpha: float = 0.5,
        mutation_rate: float = 0.5,
        mutation_scale: float = 0.1,
        num_elites: int = 2,
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
        self.crossover = options.choice(owner, "crossover", crossover, ("blend", "sbx"))
        self.crossover_rate = options.rate(owner, "crossover_rate", crossover_rate)
        self.blend_alpha = options.non_negative(owner, "blend_alpha", blend_alpha)
        self.mutation_rate = options.rate(owner, "mutation_rate", mutation_rate)
        self.mutation_scale = options.positive(owner, "mutation_scale", mutation_scale)
        self.num_elites = options.whole(owner, "num_elites", num_elites, 0)
        self._options.update(
            crossover=self.crossover,
            crossover_rate=self.crossover_rate,
            blend_alpha=self.blend_alpha,
            mutation_rate=self.mutation_rate,
            mutation_scale=self.mutation_scale,
            num_elites=self.num_elites,
        )

    def _computation(self, rng: random.Random) -> Any:
        ga = iec.GA(rng)
        cross = (
            variators.blend_crossover
            if self.crossover == "blend"
            else variators.simulated_binary_crossover
        )
        ga.variator = [cross, variators.gaussian_mutation]
        return ga

    def _arguments(self, size: int) -> dict[str, Any]:
        return {
            "num_selected": _even(size),
            "crossover_rate": self.crossover_rate,
            "blx_alpha": self.blend_alpha,
            "mutation_rate": self.mutation_rate,
            "gaussian_mean": 0.0,
            "gaussian_stdev": self.mutation_scale,
            "num_elites": self.num_elites,
        }


class DifferentialEvolution(EvolutionaryStrategy):
    """inspyred's differential evolutionary algorithm (``DEA``).

    Tournament selection picks parents; heuristic crossover moves each child
    from the worse parent past the better one (with probability
    ``crossover_rate``); Gaussian mutation (``mutation_rate`` per coordinate,
    step ``mutation_scale``) follows; steady-state replacement puts the
    offspring in place of the worst members.

    ``population_size`` is the jobs of a generation, as for every strategy
    (default: the first ``ask``'s ``n``). The population kept is twice that,
    so the better half survives every generation; the first generation
    fills the whole population (twice ``population_size`` jobs).
    """

    breeds_asynchronously: ClassVar[bool] = True
    name: ClassVar[str] = "dea"
    min_population: ClassVar[int] = 2

    def __init__(
        self,
        *,
        population_size: int | None = None,
        tournament_size: int = 3,
        crossover_rate: float = 1.0,
        mutation_rate: float = 0.5,
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
        self.mutation_rate = options.rate(owner, "mutation_rate", mutation_rate)
        self.mutation_scale = options.positive(owner, "mutation_scale", mutation_scale)
        self._options.update(
            tournament_size=self.tournament_size,
            crossover_rate=self.crossover_rate,
            mutation_rate=self.mutation_rate,
            mutation_scale=self.mutation_scale,
        )

    def _default_size(self, n: int) -> int:
        return 2 * max(n, 1)

    def _computation(self, rng: random.Random) -> Any:
        return iec.DEA(rng)

    def _arguments(self, size: int) -> dict[str, Any]:
        return {
            "num_selected": _even(max(size // 2, 1)),
            "tournament_size": self.tournament_size,
            "crossover_rate": self.crossover_rate,
            "mutation_rate": self.mutation_rate,
            "gaussian_mean": 0.0,
            "gaussian_stdev": self.mutation_scale,
        }

    def _offspring_limit(self, size: int) -> int:
        return max(size // 2, 1)


class EstimationOfDistribution(EvolutionaryStrategy):
    """An estimation of distribution algorithm (inspyred's ``EDA``).

    Each generation keeps the best ``num_selected`` members (truncation
    selection, default half the population), fits an independent normal
    distribution per coordinate to them, and samples a whole new population
    from it; generational replacement keeps the ``num_elites`` best members
    when they beat the worst newcomers.

    inspyred's own sampling uses each coordinate's variance where the
    standard deviation belongs, which collapses the search within a few
    generations. Here the standard deviation is used, and never falls below
    ``min_spread`` (the unit cube is the whole range of every parameter), so
    the search keeps moving once the selected members agree.

    Asynchronous form: each child is sampled from the distribution of the
    best ``num_selected`` results told so far, and breeding waits until a
    whole population of results was told (children are drawn uniformly
    until then, as Propulate's ``Conditional`` propagator does). Estimated
    from the first two or three results, which are the shortest jobs rather
    than the best, the distribution would settle early on a region the rest
    of the study cannot leave.
    """

    breeds_asynchronously: ClassVar[bool] = True
    name: ClassVar[str] = "eda"
    min_population: ClassVar[int] = 4

    def __init__(
        self,
        *,
        population_size: int | None = None,
        num_selected: int | None = None,
        num_elites: int = 1,
        min_spread: float = 0.03,
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
        self.num_selected = options.optional_whole(owner, "num_selected", num_selected, 2)
        self.num_elites = options.whole(owner, "num_elites", num_elites, 0)
        self.min_spread = options.non_negative(owner, "min_spread", min_spread)
        self._options.update(
            num_selected=self.num_selected, num_elites=self.num_elites, min_spread=self.min_spread
        )

    def _computation(self, rng: random.Random) -> Any:
        eda = iec.EDA(rng)
        eda.variator = _sample_normal
        return eda

    def _breeding_minimum(self, size: int) -> int:
        return size  # a distribution is estimated from a whole population's results

    def _child_arguments(self) -> dict[str, Any]:
        return {"num_offspring": 1}  # the best num_selected told so far, one sample

    def _arguments(self, size: int) -> dict[str, Any]:
        selected = self.num_selected if self.num_selected is not None else max(size // 2, 2)
        return {
            "num_selected": selected,
            "num_offspring": size,
            "num_elites": self.num_elites,
            "min_spread": self.min_spread,
        }


def _sample_normal(
    random: random.Random, candidates: list[list[float]], args: dict[str, Any]
) -> list[list[float]]:
    """inspyred's EDA variation with the standard deviation (at least ``min_spread``)."""
    bounder = args["_ec"].bounder
    count = len(candidates)
    offspring = []
    columns = list(zip(*candidates, strict=True))
    means = [sum(column) / count for column in columns]
    spreads = [
        max(
            math.sqrt(sum((x - m) ** 2 for x in column) / max(count - 1, 1)),
            args["min_spread"],
        )
        for column, m in zip(columns, means, strict=True)
    ]
    for _ in range(args["num_offspring"]):
        child = [m + random.gauss(0.0, s) for m, s in zip(means, spreads, strict=True)]
        offspring.append(bounder(child, args))
    return offspring
