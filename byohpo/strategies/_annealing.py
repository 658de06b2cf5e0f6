"""Simulated annealing, as parallel chains."""

from __future__ import annotations

import random
import statistics
from typing import Any, ClassVar

from inspyred import ec as iec

from byohpo.strategies import _options as options
from byohpo.strategies._evolutionary import EvolutionaryStrategy

_AUTO_TEMPERATURE = 0.5
"""Without a temperature, start at this fraction of the first generation's spread of scores."""


class SimulatedAnnealing(EvolutionaryStrategy):
    """Simulated annealing (inspyred's ``SA``) run as ``population_size`` parallel chains.

    inspyred anneals a single candidate, one trial at a time. Here each of
    the ``population_size`` members (by default one per parallel job) is an
    independent chain: every generation each chain proposes a Gaussian move
    (``mutation_rate`` per coordinate, step ``mutation_scale``), and
    inspyred's annealing replacement pairs each chain with its proposal,
    keeping a better proposal and a worse one with probability
    ``exp(-|Δ| / T)``. The temperature ``T`` is multiplied by
    ``cooling_rate`` every generation.

    ``temperature=None`` starts at half the standard deviation of the first
    generation's scores (1 if they do not spread), so the schedule fits the
    metric's scale without the user knowing it. These defaults (half the
    spread, steps of 0.2) were tuned on the benchmark problems of
    ``docs/benchmarks.md``: at 50 evaluations they beat random search (a tenth
    and steps of 0.1 did not), at the price of a little regret at 200.
    """

    name: ClassVar[str] = "sa"
    min_population: ClassVar[int] = 1

    def __init__(
        self,
        *,
        population_size: int | None = None,
        temperature: float | None = None,
        cooling_rate: float = 0.7,
        mutation_rate: float = 1.0,
        mutation_scale: float = 0.2,
        seed: int | None = None,
    ) -> None:
        super().__init__(population_size=population_size, seed=seed)
        owner = type(self).__name__
        self.temperature = options.optional_positive(owner, "temperature", temperature)
        self.cooling_rate = options.open_unit(owner, "cooling_rate", cooling_rate)
        self.mutation_rate = options.rate(owner, "mutation_rate", mutation_rate)
        self.mutation_scale = options.positive(owner, "mutation_scale", mutation_scale)
        self._options.update(
            temperature=self.temperature,
            cooling_rate=self.cooling_rate,
            mutation_rate=self.mutation_rate,
            mutation_scale=self.mutation_scale,
        )

    def _computation(self, rng: random.Random) -> Any:
        return iec.SA(rng)

    def _arguments(self, size: int) -> dict[str, Any]:
        args: dict[str, Any] = {
            "cooling_rate": self.cooling_rate,
            "mutation_rate": self.mutation_rate,
            "gaussian_mean": 0.0,
            "gaussian_stdev": self.mutation_scale,
        }
        if self.temperature is not None:
            args["temperature"] = self.temperature
        return args

    def _after_generation(self) -> None:
        if "temperature" not in self._args:
            scores = [i.fitness for i in self._ec.population if not i.failed]
            spread = statistics.pstdev(scores) if len(scores) > 1 else 0.0
            self._args["temperature"] = _AUTO_TEMPERATURE * spread if spread > 0 else 1.0
