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
from typing import TYPE_CHECKING, Any, ClassVar

from inspyred.ec import emo, replacers

from byohpo.objectives import Objective
from byohpo.space import Config
from byohpo.strategies._individuals import (
    Evaluated,
    Member,
    digest,
    individual_from,
    individual_state,
)


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


def admit(
    population: list[Any],
    newcomer: Any,
    size: int,
    *,
    pareto: bool,
    rng: random.Random,
    args: dict[str, Any],
) -> list[Any]:
    """The population once ``newcomer`` was told: at most ``size`` members, the best kept.

    Below ``size`` every newcomer joins. After that a single objective keeps
    the ``size`` best (on a tie the older member stays); several objectives
    keep NSGA-II's survivors of population and newcomer.
    """
    if len(population) < size:
        return [*population, newcomer]
    if pareto:
        return list(
            replacers.nsga_replacement(
                random=rng, population=population, parents=[], offspring=[newcomer], args=args
            )
        )
    ranked = sorted([*population, newcomer], key=lambda member: member.fitness, reverse=True)
    return ranked[:size]


class SteadyStateForm:
    """The asynchronous form's part of an evolutionary strategy, and how told results score.

    Mixed into :class:`~byohpo.strategies._evolutionary.EvolutionaryStrategy`,
    whose state (inspyred computation, random stream, members in flight) it
    works on. Also the island model's hooks: members leave as copies
    (:meth:`emigrants`) and arrive through the same admission as a told child.
    """

    pareto_fitness: ClassVar[bool]
    archive_offspring: ClassVar[bool]
    _ec: Any
    _rng: random.Random
    _args: dict[str, Any]
    _size: int | None
    _births: int
    _members: list[Member]
    _seen: set[str]
    _worst: list[float] | None
    _immigrants: list[dict[str, Any]]
    _asynchronous: bool

    if TYPE_CHECKING:

        @property
        def objectives(self) -> tuple[Objective, ...]: ...

        def _generate(self) -> list[float]: ...

        def _novel(self, candidate: list[float]) -> tuple[Config, str]: ...

        def _child_arguments(self) -> dict[str, Any]: ...

        def _individuals(self) -> list[Any]: ...

    def _breed_one(self) -> Config:
        """A child of the population told so far (drawn uniformly while it is too small)."""
        assert self._size is not None
        if self._births < self._size or len(self._ec.population) < min(2, self._size):
            candidate = self._generate()
        else:
            candidate = breed_child(self._ec, self._rng, self._args, self._child_arguments())
        config, key = self._novel(candidate)
        self._seen.add(digest(key))
        self._members.append(Member(candidate, config, key, asked=True))
        self._births += 1
        return dict(config)

    def _settle(self, told: list[Member]) -> None:
        """Score told children (and re-score failures), then let them into the population."""
        ec = self._ec
        offspring = self._evaluated(told)
        ec.num_evaluations += len(offspring)
        assert self._size is not None
        for child in offspring:
            ec.population = self._admit(ec.population, child)
        archived = list(ec.population)
        if self.archive_offspring:
            archived += [o for o in offspring if all(o is not p for p in archived)]
        ec.archive = ec.archiver(
            random=self._rng, archive=ec.archive, population=archived, args=self._args
        )
        self._settle_immigrants()

    def _admit(self, population: list[Any], newcomer: Any) -> list[Any]:
        assert self._size is not None
        return admit(
            population,
            newcomer,
            self._size,
            pareto=self.pareto_fitness,
            rng=self._rng,
            args=self._args,
        )

    def emigrants(self, count: int) -> list[dict[str, Any]]:
        """Copies of up to ``count`` of the best successful members, as JSON data."""
        alive = [i for i in self._ec.population if not i.failed]
        if self.pareto_fitness:
            front = [i for i in self._ec.archive if not i.failed] or alive
            chosen = self._rng.sample(front, min(count, len(front)))
        else:
            chosen = sorted(alive, key=lambda i: i.fitness, reverse=True)[:count]
        return [individual_state(i) for i in chosen]

    def immigrate(self, newcomers: list[dict[str, Any]]) -> None:
        """Take members sent by another island (at once, or at the end of this generation)."""
        self._immigrants.extend(newcomers)
        if self._asynchronous or (self._ec.population and not self._members):
            self._settle_immigrants()

    def _settle_immigrants(self) -> None:
        if self._size is None:
            return
        for data in self._immigrants:
            newcomer = individual_from(data, pareto=self.pareto_fitness)
            if all(m.candidate != newcomer.candidate for m in self._ec.population):
                self._ec.population = self._admit(self._ec.population, newcomer)
        self._immigrants = []

    def _evaluated(self, members: list[Member]) -> list[Any]:
        """Told members as individuals; every failure (new or held) gets the failure fitness."""
        for member in members:
            if member.scores is not None:
                self._worst = (
                    list(member.scores)
                    if self._worst is None
                    else [min(w, s) for w, s in zip(self._worst, member.scores, strict=True)]
                )
        offspring = []
        for member in members:
            individual = Evaluated(member.candidate, failed=member.scores is None)
            if member.scores is not None:
                individual.fitness = self._fitness(member.scores)
            offspring.append(individual)
        self._refresh_failures(offspring)
        return offspring

    def _fitness(self, scores: list[float]) -> Any:
        return emo.Pareto(list(scores)) if self.pareto_fitness else scores[0]

    def _refresh_failures(self, offspring: list[Any]) -> None:
        """Give every failed individual the failure fitness (see the module's policy)."""
        worst = self._worst if self._worst is not None else [0.0] * len(self.objectives)
        for individual in [*offspring, *self._individuals()]:
            if individual.failed:
                individual.fitness = self._fitness(worst)
