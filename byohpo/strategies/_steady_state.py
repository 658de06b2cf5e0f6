"""Steady-state breeding: one child at a time from the population told so far.

The asynchronous form of the evolutionary strategies (as in Propulate): when
a slot frees, one child is bred from the current population, the best
results told so far, instead of waiting for the whole generation. The same
inspyred operators as the generational form are used (selector, then
variators), asked for one child; a told child enters the population in
place of its worst member when it is better ("plus" replacement, one at a
time), or by NSGA-II's non-dominated sorting when fitness is a Pareto of
several scores.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Iterable, Mapping
from typing import Any

from byohpo.space import Config
from byohpo.strategies._individuals import Member
from byohpo.strategies._population import Breeding, Population


def breed_child(
    ec: Any, rng: random.Random, args: Mapping[str, Any], overrides: Mapping[str, Any]
) -> list[float]:
    """One child of ``ec``'s population: its selector, then its variators, with ``overrides``.

    ``overrides`` are the arguments that shrink a generation's breeding to one
    child (e.g. ``num_selected=2`` parents for a crossover). The arguments are
    a copy: what operators write into them does not outlive the child.
    """
    local = {**args, **overrides}
    parents = ec.selector(random=rng, population=list(ec.population), args=local)
    candidates = [copy.deepcopy(parent.candidate) for parent in parents]
    variators = ec.variator if isinstance(ec.variator, Iterable) else [ec.variator]
    for operator in variators:
        candidates = operator(random=rng, candidates=candidates, args=local)
    return list(candidates[0])


class SteadyStateForm:
    """The asynchronous form: every ask breeds children, every tell settles one at once."""

    def __init__(self, population: Population, algorithm: Breeding) -> None:
        self.population = population
        self.algorithm = algorithm

    @property
    def generation(self) -> int:
        """One generation is one population's worth of children."""
        population = self.population
        size = self.algorithm._offspring_limit(population.size) if population.size else 1
        return max(population.births - 1, 0) // size

    def ask(self, n: int) -> list[Config]:
        """``n`` children, each bred from the population told so far."""
        population = self.population
        assert population.size is not None
        if (
            population.births == 0
            and population.members
            and all(m.told for m in population.members)
        ):
            warm, population.members = population.members[: population.size], []
            self._settle(warm)  # a warm start's trials are the first population
            population.births = len(warm)
        return [self._breed_one() for _ in range(n)]

    def told(self, member: Member) -> None:
        """``member`` was told: it competes for a place in the population at once."""
        self.population.members.remove(member)
        self._settle([member])

    def immigrate(self, newcomers: list[dict[str, Any]]) -> None:
        """Take members sent by another island, at once."""
        self.population.immigrants.extend(newcomers)
        self.population.settle_immigrants()

    def _breed_one(self) -> Config:
        """A child of the population told so far (drawn uniformly while it is too small)."""
        population = self.population
        ec = population.ec
        assert population.size is not None
        minimum = self.algorithm._breeding_minimum(population.size)
        if population.births < population.size or len(ec.population) < minimum:
            candidate = self.algorithm._generate()
        else:
            candidate = breed_child(
                ec, population.rng, population.args, self.algorithm._child_arguments()
            )
        member = population.hand_out(candidate, asked=True)
        population.births += 1
        return dict(member.config)

    def _settle(self, told: list[Member]) -> None:
        """Score told children (and re-score failures), then let them into the population."""
        population = self.population
        ec = population.ec
        offspring = population.evaluated(told)
        ec.num_evaluations += len(offspring)
        for child in offspring:
            ec.population = population.admit(ec.population, child)
        archived = list(ec.population)
        if self.algorithm.archive_offspring:
            archived += [o for o in offspring if all(o is not p for p in archived)]
        ec.archive = ec.archiver(
            random=population.rng, archive=ec.archive, population=archived, args=population.args
        )
        population.settle_immigrants()
