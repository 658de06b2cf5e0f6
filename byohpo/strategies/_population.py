"""One population of an evolutionary strategy: its state, how told results score, its JSON form.

A :class:`Population` is what both forms of an evolutionary strategy (the
generational loop, :mod:`byohpo.strategies._generational`, and steady-state
breeding, :mod:`byohpo.strategies._steady_state`) work on: the inspyred
computation with its population and archive, the random stream, inspyred's
arguments, the members handed out and not yet settled, and the
configurations already suggested. It asks the algorithm for what differs
between algorithms through :class:`Breeding`.

Failures keep the population whole: a failed trial scores, per objective,
the worst score any successful trial has had (0 until one succeeds), and
every held failure is re-scored whenever results are turned into
individuals, so a failure never ranks above a success that arrives later.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable, Mapping
from typing import Any, Protocol

from inspyred.ec import emo, replacers

from byohpo.objectives import Objective
from byohpo.space import Config, SearchSpace
from byohpo.strategies._individuals import (
    Evaluated,
    Member,
    digest,
    individual_from,
    individual_state,
    new_computation,
    unit_bounder,
)
from byohpo.strategies._snapshots import random_state, set_random_state

_NUDGE_TRIES = 8
_NUDGE_SCALE = 0.02


class Breeding(Protocol):
    """What a population needs of its algorithm (an evolutionary strategy, set up)."""

    @property
    def pareto_fitness(self) -> bool: ...

    @property
    def archive_offspring(self) -> bool: ...

    @property
    def space(self) -> SearchSpace: ...

    @property
    def objectives(self) -> tuple[Objective, ...]: ...

    def _config_key(self, config: Config) -> str: ...

    def _generate(self) -> list[float]: ...

    def _child_arguments(self) -> dict[str, Any]: ...

    def _breeding_minimum(self, size: int) -> int: ...

    def _offspring_limit(self, size: int) -> int: ...

    def _after_generation(self) -> None: ...

    def _extra_individuals(self) -> list[Any]: ...


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


class Population:
    """The state one evolutionary population evolves: not thread-safe, restored exactly."""

    def __init__(
        self,
        algorithm: Breeding,
        computation: Callable[[random.Random], Any],
        seed: int | None,
        size: int | None,
    ) -> None:
        self.algorithm = algorithm
        self.rng = random.Random(seed)
        self.ec = new_computation(computation, self.rng)
        self.ec.bounder = unit_bounder(algorithm.space.dimension)
        self.ec.maximize = True
        self.ec.population = []
        self.ec.archive = []
        self.ec.num_evaluations = 0
        self.ec.num_generations = 0
        self.args: dict[str, Any] = {"_ec": self.ec}
        self.ec._kwargs = self.args
        self.size = size
        """The population kept (``None`` until the first ask decides it)."""
        self.generation = -1
        """Generational form: the generation handed out last (-1: none yet)."""
        self.births = 0
        """Asynchronous form: the children handed out."""
        self.members: list[Member] = []
        self.parents: list[Any] = []
        self.worst: list[float] | None = None
        self.seen: set[str] = set()
        self.immigrants: list[dict[str, Any]] = []

    # -- configurations ---------------------------------------------------------------
    def decode(self, candidate: list[float]) -> tuple[Config, str]:
        """The configuration a candidate stands for, and its key."""
        space = self.algorithm.space
        config = space.from_unit(candidate[: space.dimension])
        return config, self.algorithm._config_key(config)

    def novel(self, candidate: list[float]) -> tuple[Config, str]:
        """Decode ``candidate``, first nudging it off configurations already suggested."""
        config, key = self.decode(candidate)
        d = self.algorithm.space.dimension
        scale = _NUDGE_SCALE
        for _ in range(_NUDGE_TRIES):
            if digest(key) not in self.seen:
                break
            moved = [min(max(x + self.rng.gauss(0.0, scale), 0.0), 1.0) for x in candidate[:d]]
            moved_config, moved_key = self.decode(moved)
            scale *= 2.0
            if digest(moved_key) not in self.seen:
                candidate[:d] = moved
                return moved_config, moved_key
        return config, key

    def hand_out(self, candidate: list[float], *, asked: bool) -> Member:
        """A new member for ``candidate`` (nudged off repeats), remembered as suggested."""
        config, key = self.novel(candidate)
        self.seen.add(digest(key))
        member = Member(candidate, config, key, asked=asked)
        self.members.append(member)
        return member

    # -- scores -----------------------------------------------------------------------
    def evaluated(self, members: list[Member]) -> list[Any]:
        """Told members as individuals; every failure (new or held) gets the failure fitness."""
        for member in members:
            if member.scores is not None:
                self.worst = (
                    list(member.scores)
                    if self.worst is None
                    else [min(w, s) for w, s in zip(self.worst, member.scores, strict=True)]
                )
        offspring = []
        for member in members:
            individual = Evaluated(member.candidate, failed=member.scores is None)
            if member.scores is not None:
                individual.fitness = self.fitness(member.scores)
            offspring.append(individual)
        self._refresh_failures(offspring)
        return offspring

    def fitness(self, scores: list[float]) -> Any:
        """inspyred's fitness of a result's scores (bigger is better)."""
        return emo.Pareto(list(scores)) if self.algorithm.pareto_fitness else scores[0]

    def _refresh_failures(self, offspring: list[Any]) -> None:
        worst = self.worst if self.worst is not None else [0.0] * len(self.algorithm.objectives)
        for individual in [*offspring, *self.individuals()]:
            if individual.failed:
                individual.fitness = self.fitness(worst)

    def individuals(self) -> list[Any]:
        """Every individual the population holds, each once."""
        seen: set[int] = set()
        result = []
        for individual in [
            *self.ec.population,
            *self.ec.archive,
            *self.parents,
            *self.algorithm._extra_individuals(),
        ]:
            if id(individual) not in seen:
                seen.add(id(individual))
                result.append(individual)
        return result

    # -- members of other populations (islands) ---------------------------------------
    def admit(self, population: list[Any], newcomer: Any) -> list[Any]:
        """``population`` once ``newcomer`` competed for a place in it (see :func:`admit`)."""
        assert self.size is not None
        return admit(
            population,
            newcomer,
            self.size,
            pareto=self.algorithm.pareto_fitness,
            rng=self.rng,
            args=self.args,
        )

    def emigrants(self, count: int) -> list[dict[str, Any]]:
        """Copies of up to ``count`` of the best successful members, as JSON data."""
        alive = [i for i in self.ec.population if not i.failed]
        if self.algorithm.pareto_fitness:
            front = [i for i in self.ec.archive if not i.failed] or alive
            chosen = self.rng.sample(front, min(count, len(front)))
        else:
            chosen = sorted(alive, key=lambda i: i.fitness, reverse=True)[:count]
        return [individual_state(i) for i in chosen]

    def settle_immigrants(self) -> None:
        """Let the members sent by other islands compete for a place in the population."""
        if self.size is None:
            return
        for data in self.immigrants:
            newcomer = individual_from(data, pareto=self.algorithm.pareto_fitness)
            if all(m.candidate != newcomer.candidate for m in self.ec.population):
                self.ec.population = self.admit(self.ec.population, newcomer)
        self.immigrants = []

    # -- persistence ------------------------------------------------------------------
    def state(
        self, extra_state: Callable[[Callable[[Any], int]], dict[str, Any]]
    ) -> dict[str, Any]:
        """The population as JSON data (``extra_state(ref)``: the algorithm's own)."""
        table: list[dict[str, Any]] = []
        numbers: dict[int, int] = {}

        def ref(individual: Any) -> int:
            if id(individual) not in numbers:
                numbers[id(individual)] = len(table)
                table.append(individual_state(individual))
            return numbers[id(individual)]

        ec = self.ec
        return {
            "random_state": random_state(self.rng),
            "population_size": self.size,
            "generation": self.generation,
            "births": self.births,
            "num_evaluations": ec.num_evaluations,
            "num_generations": ec.num_generations,
            "args": copy.deepcopy({k: v for k, v in self.args.items() if k != "_ec"}),
            "population": [ref(i) for i in ec.population],
            "archive": [ref(i) for i in ec.archive],
            "parents": [ref(i) for i in self.parents],
            "extra": extra_state(ref),
            "members": [
                {
                    "candidate": list(m.candidate),
                    "asked": m.asked,
                    "told": m.told,
                    "scores": None if m.scores is None else list(m.scores),
                }
                for m in self.members
            ],
            "worst": None if self.worst is None else list(self.worst),
            "seen": sorted(self.seen),
            "immigrants": copy.deepcopy(self.immigrants),
            "individuals": table,
        }

    def restore(
        self,
        state: Mapping[str, Any],
        restore_extra: Callable[[Mapping[str, Any], list[Any]], None],
    ) -> None:
        """Return to a state written by :meth:`state` (``restore_extra``: the algorithm's own)."""
        set_random_state(self.rng, state["random_state"])
        self.size = state["population_size"]
        self.generation = state["generation"]
        self.births = int(state.get("births", 0))
        ec = self.ec
        ec.num_evaluations = state["num_evaluations"]
        ec.num_generations = state["num_generations"]
        self.args.clear()
        self.args.update(copy.deepcopy(dict(state["args"])))
        self.args["_ec"] = ec
        pareto = self.algorithm.pareto_fitness
        individuals = [individual_from(data, pareto=pareto) for data in state["individuals"]]
        ec.population = [individuals[i] for i in state["population"]]
        ec.archive = [individuals[i] for i in state["archive"]]
        self.parents = [individuals[i] for i in state["parents"]]
        self.members = []
        for data in state["members"]:
            candidate = list(data["candidate"])
            config, key = self.decode(candidate)
            scores = None if data["scores"] is None else list(data["scores"])
            self.members.append(
                Member(candidate, config, key, bool(data["asked"]), bool(data["told"]), scores)
            )
        self.worst = None if state["worst"] is None else list(state["worst"])
        self.seen = set(state["seen"])
        self.immigrants = [dict(i) for i in state.get("immigrants", [])]
        restore_extra(state["extra"], individuals)
