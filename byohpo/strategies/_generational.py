"""The generational form: inspyred's ``evolve`` loop, one ask/tell at a time.

- generation 0: ``size`` candidates drawn uniformly from the unit cube (or a
  warm start's told trials) are asked and told, become the population, and
  are archived;
- every later generation: selector -> variators -> (ask and tell the
  offspring) -> replacer -> archiver, in the order ``evolve`` uses.

A generation is processed once all its members were told, in the order they
were asked, so the order of results does not matter.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable
from typing import Any

from byohpo.space import Config
from byohpo.strategies._individuals import Member
from byohpo.strategies._population import Breeding, Population


class GenerationalForm:
    """Hands out a generation's members and breeds the next once all were told."""

    def __init__(self, population: Population, algorithm: Breeding) -> None:
        self.population = population
        self.algorithm = algorithm

    @property
    def generation(self) -> int:
        """The generation the latest asked configurations belong to (0: the initial one)."""
        return max(self.population.generation, 0)

    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` not-yet-asked members of the current generation (``[]``: wait)."""
        population = self.population
        if not population.members or population.generation < 0:  # (members: a warm start's)
            self._breed()
        fresh = [member for member in population.members if not member.asked][:n]
        for member in fresh:
            member.asked = True
        return [dict(member.config) for member in fresh]

    def told(self, member: Member) -> None:
        """``member`` was told: the generation moves on once every member was."""
        if all(m.told for m in self.population.members):
            self._complete()

    def _breed(self) -> None:
        population = self.population
        prior: list[Member]
        if population.generation < 0:
            assert population.size is not None
            parents: list[Any] = []
            prior = population.members[: population.size]  # a warm start's trials, told
            candidates = [self.algorithm._generate() for _ in range(population.size - len(prior))]
        else:
            prior, (parents, candidates) = [], self._vary()
        population.generation += 1
        population.parents = parents
        population.members = list(prior)
        for candidate in candidates:
            population.hand_out(candidate, asked=False)
        if population.members and all(member.told for member in population.members):
            self._complete()  # a population wholly warm-started: breed from it at once
            self._breed()

    def _vary(self) -> tuple[list[Any], list[list[float]]]:
        """Parents and offspring candidates of the next generation (selector, then variators)."""
        ec, rng, args = self.population.ec, self.population.rng, self.population.args
        parents = ec.selector(random=rng, population=list(ec.population), args=args)
        candidates = [copy.deepcopy(parent.candidate) for parent in parents]
        variators = ec.variator if isinstance(ec.variator, Iterable) else [ec.variator]
        for operator in variators:
            candidates = operator(random=rng, candidates=candidates, args=args)
        size = self.population.size
        assert size is not None
        return list(parents), candidates[: self.algorithm._offspring_limit(size)]

    def _complete(self) -> None:
        population = self.population
        ec, rng, args = population.ec, population.rng, population.args
        offspring = population.evaluated(population.members)
        ec.num_evaluations += len(offspring)
        if population.generation == 0:
            ec.population = offspring
            ec.archive = ec.archiver(
                random=rng, population=list(ec.population), archive=list(ec.archive), args=args
            )
        else:
            ec.population = ec.replacer(
                random=rng,
                population=ec.population,
                parents=population.parents,
                offspring=offspring,
                args=args,
            )
            archived = list(ec.population)
            if self.algorithm.archive_offspring:
                archived += [o for o in offspring if all(o is not p for p in archived)]
            ec.archive = ec.archiver(random=rng, archive=ec.archive, population=archived, args=args)
            ec.num_generations += 1
        population.members = []
        population.parents = []
        self.algorithm._after_generation()
        population.settle_immigrants()

    def immigrate(self, newcomers: list[dict[str, Any]]) -> None:
        """Take members sent by another island: now between generations, else at its end."""
        population = self.population
        population.immigrants.extend(newcomers)
        if population.ec.population and not population.members:
            population.settle_immigrants()
