"""The step machine that runs inspyred's evolutionary algorithms one ask/tell at a time.

inspyred's ``EvolutionaryComputation.evolve`` owns its loop and calls the
evaluator itself. A SageMaker study cannot wait inside a function call for
hours, so :class:`EvolutionaryStrategy` replays the same loop around
inspyred's own operators, one generation at a time:

- generation 0: ``population_size`` candidates drawn uniformly from the unit
  cube are asked and told, become the population, and are archived;
- every later generation: selector -> variators -> (ask and tell the
  offspring) -> replacer -> archiver, in the order ``evolve`` uses.

In the tuner's asynchronous mode (``set_mode("async")``) the algorithms that
can (``breeds_asynchronously``: ga, dea, eda, es, nsga2) breed one child at a
time instead (:mod:`byohpo.strategies._steady_state`): the first
``population_size`` children are drawn uniformly, and every later one is bred
from the best results told so far the moment a slot frees, so no slot waits
for a generation's slowest job. ``islands=k`` runs ``k`` populations side by
side with migration between them (:mod:`byohpo.strategies._islands`), in
either form.

Candidates are points of the unit cube ``[0, 1]^d``, decoded with
:meth:`~byohpo.space.SearchSpace.from_unit`. Fitness is bigger-is-better
(:meth:`~byohpo.objectives.Objective.score`); algorithms that rank several
objectives get an ``inspyred.ec.emo.Pareto`` of the scores.

Promises shared by every evolutionary strategy:

- **Failures keep the population whole.** A failed trial (``tell(config,
  None)``, or metrics without a finite value for an objective) stays in the
  population with, per objective, the worst score any successful trial of
  the study has had. Until a trial succeeds, failures score 0. The value is
  re-derived at every generation boundary (asynchronous form: at every
  result), so a failure never ranks above a success that arrives later.
- **Tell order does not matter** in the generational form. A generation is
  processed once all its members were told, in the order they were asked.
  (The asynchronous form breeds from what was told so far, so its decisions
  follow the order of the results, as they must.)
- **No paid repeats.** An offspring that decodes to a configuration already
  suggested in the study is nudged by a small Gaussian step (growing over up
  to eight tries) before it is asked; only when every try repeats (a tiny
  space) is the repeat kept.
- **Snapshots are complete.** :meth:`snapshot` is JSON data;
  :meth:`restore` on a fresh, set-up instance, in any process, continues with
  exactly the decisions the uninterrupted strategy would have made. The
  snapshot records the options too, and they win over the instance's own:
  a restored strategy continues the study it was snapshotted from.
"""

from __future__ import annotations

import copy
import random
from abc import abstractmethod
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies import _options as options
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._individuals import (
    Evaluated,
    Member,
    digest,
    individual_from,
    individual_state,
    new_computation,
    unit_bounder,
)
from byohpo.strategies._islands import Archipelago, IslandSettings, island_size
from byohpo.strategies._seeding import best_first
from byohpo.strategies._snapshots import (
    check_header,
    check_json,
    header,
    random_state,
    set_random_state,
)
from byohpo.strategies._steady_state import SteadyStateForm
from byohpo.trial import Mode

_NUDGE_TRIES = 8
_NUDGE_SCALE = 0.02

__all__ = ["Evaluated", "EvolutionaryStrategy", "new_computation", "unit_bounder"]


class EvolutionaryStrategy(SteadyStateForm, Strategy):
    """A strategy driving one of inspyred's evolutionary computations.

    Generational form (the default): ``ask(n)`` hands out the not-yet-asked
    members of the current generation, at most ``n`` at a time, then ``[]``
    until every member was told; the next ``ask`` breeds the next generation.
    ``population_size`` means the same for every strategy: the jobs of one
    generation. It defaults to the ``n`` of the first ``ask`` (so a
    generation fills the study's parallel slots), and is raised to the
    algorithm's minimum if smaller.

    Asynchronous form (``set_mode("async")``, for the algorithms with
    ``breeds_asynchronously``): ``ask(n)`` always returns ``n`` children, each
    bred from the population told so far. With ``islands`` >= 2,
    ``population_size`` is each island's.
    """

    supports_async: ClassVar[bool] = False
    breeds_asynchronously: ClassVar[bool] = False
    """The algorithm has an asynchronous form (one child at a time) and an island model."""
    min_population: ClassVar[int] = 2
    pareto_fitness: ClassVar[bool] = False
    """Fitness is an ``emo.Pareto`` of the scores (multi-objective algorithms)."""
    archive_offspring: ClassVar[bool] = False
    """The archiver sees every evaluated offspring, not only the survivors of replacement."""

    def __init__(
        self,
        *,
        population_size: int | None = None,
        seed: int | None = None,
        islands: int = 1,
        migration_interval: int | None = None,
        migrants: int | None = None,
        migration_topology: str | None = None,
    ) -> None:
        super().__init__(seed=seed)
        owner = type(self).__name__
        self.population_size = options.optional_whole(
            owner, "population_size", population_size, self.min_population
        )
        self.island_settings = IslandSettings.check(
            owner, islands, migration_interval, migrants, migration_topology
        )
        self._options: dict[str, Any] = {"population_size": self.population_size}
        self._asynchronous = False

    # -- what each algorithm provides -------------------------------------------------
    @abstractmethod
    def _computation(self, rng: random.Random) -> Any:
        """An inspyred computation whose selector, variator, replacer and archiver to drive."""

    def _arguments(self, size: int) -> dict[str, Any]:
        """inspyred's keyword arguments (as ``evolve`` gets them) for a population of ``size``."""
        return {}

    def _child_arguments(self) -> dict[str, Any]:
        """What changes in :meth:`_arguments` to breed one child (asynchronous form)."""
        return {"num_selected": 2}

    def _default_size(self, n: int) -> int:
        """The population kept for generations of ``n`` jobs (``population_size``, or else the
        first ``ask``'s slots): the same by default."""
        return n

    def _offspring_limit(self, size: int) -> int:
        """How many offspring one generation evaluates (surplus from pairwise crossover is cut)."""
        return size

    def _generate(self) -> list[float]:
        """A candidate of the initial population (uniform in the unit cube)."""
        return [self._rng.random() for _ in range(self.space.dimension)]

    def _vary(self) -> tuple[list[Any], list[list[float]]]:
        """Parents and offspring candidates of the next generation (selector, then variators)."""
        ec, rng, args = self._ec, self._rng, self._args
        parents = ec.selector(random=rng, population=list(ec.population), args=args)
        candidates = [copy.deepcopy(parent.candidate) for parent in parents]
        variators = ec.variator if isinstance(ec.variator, Iterable) else [ec.variator]
        for operator in variators:
            candidates = operator(random=rng, candidates=candidates, args=args)
        assert self._size is not None
        return list(parents), candidates[: self._offspring_limit(self._size)]

    def _after_generation(self) -> None:
        """Called once a generation was replaced and archived."""

    def _extra_individuals(self) -> list[Any]:
        """Individuals the algorithm keeps beyond population, archive and parents."""
        return []

    def _extra_state(self, ref: Callable[[Any], int]) -> dict[str, Any]:
        """Algorithm-specific state as JSON data (``ref`` numbers an individual)."""
        return {}

    def _restore_extra(self, extra: Mapping[str, Any], individuals: list[Any]) -> None:
        """Return algorithm-specific state written by :meth:`_extra_state`."""

    # -- lifecycle --------------------------------------------------------------------
    def _setup(self) -> None:
        self._rng = random.Random(self.seed)
        self._ec = new_computation(self._computation, self._rng)
        self._ec.bounder = unit_bounder(self.space.dimension)
        self._ec.maximize = True
        self._ec.population = []
        self._ec.archive = []
        self._ec.num_evaluations = 0
        self._ec.num_generations = 0
        self._args: dict[str, Any] = {"_ec": self._ec}
        self._ec._kwargs = self._args
        self._size: int | None = (
            None if self.population_size is None else self._default_size(self.population_size)
        )
        if self._size is not None:
            self._args.update(self._arguments(self._size))
        self._generation = -1
        self._births = 0  # asynchronous form: children handed out
        self._members: list[Member] = []
        self._parents: list[Any] = []
        self._worst: list[float] | None = None
        self._seen: set[str] = set()
        self._immigrants: list[dict[str, Any]] = []
        self._archipelago: Archipelago | None = None
        if self.island_settings.islands > 1:
            self._archipelago = Archipelago(
                self.island_settings,
                self._island,
                island_size(
                    self.island_settings.islands, self.population_size, self.min_population
                ),
                self._config_key,
                self.seed,
            )

    def _island(self, size: int, seed: int | None) -> EvolutionaryStrategy:
        """One island: this strategy with one population of ``size``, in the same form."""
        island = type(self)(**{**self._options, "population_size": size}, seed=seed)
        island.setup(self.space, self.objectives)
        island.set_mode(Mode.ASYNC if self._asynchronous else Mode.GENERATIONAL)
        return island

    def set_mode(self, mode: str) -> None:
        """Breed one child at a time in the tuner's ``"async"`` mode, if the algorithm can."""
        self._use_form(mode == Mode.ASYNC and self.breeds_asynchronously)

    def _use_form(self, asynchronous: bool) -> None:
        self._asynchronous = asynchronous
        # a capability of this instance, as for pbt: the generational form waits for generations
        setattr(self, "supports_async", asynchronous)  # noqa: B010

    @property
    def is_asynchronous(self) -> bool:
        """Whether it breeds one child at a time (the tuner's asynchronous mode)."""
        return self._asynchronous

    @property
    def options(self) -> dict[str, Any]:
        """The options it was built with: ``make_strategy(name, **options)`` rebuilds it."""
        return {**self._options, **self.island_settings.as_options()}

    @property
    def generation(self) -> int:
        """The generation the latest asked configurations belong to (0: the initial population).

        In the asynchronous form, one generation is one population's worth of children.
        """
        self._require_setup()
        if self._archipelago is not None:
            return self._archipelago.generation
        if self._asynchronous:
            size = self._offspring_limit(self._size) if self._size else 1
            return max(self._births - 1, 0) // size
        return max(self._generation, 0)

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` configurations (see the class's forms)."""
        n = self._check_n(n)
        self._require_setup()
        if self._archipelago is not None:
            return self._archipelago.ask(n)
        if self._size is None:
            self._size = max(self._default_size(n), self.min_population)
            self._args.update(self._arguments(self._size))
        if self._asynchronous:
            if self._births == 0 and self._members and all(m.told for m in self._members):
                warm, self._members = self._members[: self._size], []
                self._settle(warm)  # a warm start's trials are the first population
                self._births = len(warm)
            return [self._breed_one() for _ in range(n)]
        if not self._members or self._generation < 0:  # (members: a warm start's, told)
            self._breed()
        fresh = [member for member in self._members if not member.asked][:n]
        for member in fresh:
            member.asked = True
        return [dict(member.config) for member in fresh]

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Record an asked configuration's result (``None``: its job failed).

        The first asked, not yet told member with the same hyperparameters
        (as SageMaker receives them) takes the result. The generation moves on
        once every member was told; in the asynchronous form the child joins
        the population at once.
        """
        if self._archipelago is not None:
            self._archipelago.tell(config, metrics)
            return
        key = self._config_key(config)
        scores = self._scores(metrics)
        for member in self._members:
            if member.asked and not member.told and member.key == key:
                member.told = True
                member.scores = scores
                break
        else:
            raise StrategyError(
                "tell() takes a configuration that ask() returned and that was not told yet",
                repr(dict(config)),
                "Tell each asked configuration exactly once, with the dict ask() returned.",
            )
        if self._asynchronous:
            self._members.remove(member)
            self._settle([member])
        elif all(member.told for member in self._members):
            self._complete()

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """Seed the initial population with earlier trials (the best first, as many as the
        population holds); the rest of it is drawn as usual. Before the first ask only."""
        self._require_setup()
        if self._generation >= 0 or self._members:
            raise StrategyError(
                "warm_start() comes before the first ask()",
                f"a warm start at generation {self._generation}",
                "Warm start a freshly set-up strategy.",
            )
        members = []
        for trial in trials:
            if (scores := self._scores(trial.metrics)) is not None:  # only results seed
                candidate = self.space.to_unit(trial.config)
                candidate += self._generate()[len(candidate) :]  # an algorithm's own genes (ES)
                config, key = self._decode(candidate)
                members.append(Member(candidate, config, key, True, True, scores))
        members = [members[i] for i in best_first([m.scores or [] for m in members])]
        self._members = members
        self._seen.update(digest(m.key) for m in members)
        return min(len(members), self._size) if self._size is not None else len(members)

    # -- the generation loop ----------------------------------------------------------
    def _breed(self) -> None:
        if self._generation < 0:
            assert self._size is not None
            parents: list[Any] = []
            prior = self._members[: self._size]  # a warm start's trials, already told
            candidates = [self._generate() for _ in range(self._size - len(prior))]
        else:
            prior, (parents, candidates) = [], self._vary()
        self._generation += 1
        self._parents = parents
        self._members = list(prior)
        for candidate in candidates:
            config, key = self._novel(candidate)
            self._seen.add(digest(key))
            self._members.append(Member(candidate, config, key))
        if self._members and all(member.told for member in self._members):
            self._complete()  # a population wholly warm-started: breed from it at once
            self._breed()

    def _decode(self, candidate: list[float]) -> tuple[Config, str]:
        config = self.space.from_unit(candidate[: self.space.dimension])
        return config, self._config_key(config)

    def _novel(self, candidate: list[float]) -> tuple[Config, str]:
        """Decode ``candidate``, first nudging it off configurations already suggested."""
        config, key = self._decode(candidate)
        d = self.space.dimension
        scale = _NUDGE_SCALE
        for _ in range(_NUDGE_TRIES):
            if digest(key) not in self._seen:
                break
            moved = [min(max(x + self._rng.gauss(0.0, scale), 0.0), 1.0) for x in candidate[:d]]
            moved_config, moved_key = self._decode(moved)
            scale *= 2.0
            if digest(moved_key) not in self._seen:
                candidate[:d] = moved
                return moved_config, moved_key
        return config, key

    def _complete(self) -> None:
        ec, rng, args = self._ec, self._rng, self._args
        offspring = self._evaluated(self._members)
        ec.num_evaluations += len(offspring)
        if self._generation == 0:
            ec.population = offspring
            ec.archive = ec.archiver(
                random=rng, population=list(ec.population), archive=list(ec.archive), args=args
            )
        else:
            ec.population = ec.replacer(
                random=rng,
                population=ec.population,
                parents=self._parents,
                offspring=offspring,
                args=args,
            )
            archived = list(ec.population)
            if self.archive_offspring:
                archived += [o for o in offspring if all(o is not p for p in archived)]
            ec.archive = ec.archiver(random=rng, archive=ec.archive, population=archived, args=args)
            ec.num_generations += 1
        self._members = []
        self._parents = []
        self._after_generation()
        self._settle_immigrants()

    def _individuals(self) -> list[Any]:
        """Every individual the strategy holds, each once."""
        seen: set[int] = set()
        result = []
        for individual in [
            *self._ec.population,
            *self._ec.archive,
            *self._parents,
            *self._extra_individuals(),
        ]:
            if id(individual) not in seen:
                seen.add(id(individual))
                result.append(individual)
        return result

    # -- persistence ------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON data: random state, population, archive, children in flight."""
        state = header(self.name)
        state.update(
            options=self.options,
            space=self.space.to_json(),
            objectives=[[o.metric, o.direction.value] for o in self.objectives],
            form="async" if self._asynchronous else "generational",
        )
        if self._archipelago is not None:
            state["islands"] = self._archipelago.state()
        else:
            state.update(self._population_state())
        check_json(state, f"the {self.name!r} strategy's snapshot")
        return state

    def _population_state(self) -> dict[str, Any]:
        table: list[dict[str, Any]] = []
        numbers: dict[int, int] = {}

        def ref(individual: Any) -> int:
            if id(individual) not in numbers:
                numbers[id(individual)] = len(table)
                table.append(individual_state(individual))
            return numbers[id(individual)]

        ec = self._ec
        return {
            "random_state": random_state(self._rng),
            "population_size": self._size,
            "generation": self._generation,
            "births": self._births,
            "num_evaluations": ec.num_evaluations,
            "num_generations": ec.num_generations,
            "args": copy.deepcopy({k: v for k, v in self._args.items() if k != "_ec"}),
            "population": [ref(i) for i in ec.population],
            "archive": [ref(i) for i in ec.archive],
            "parents": [ref(i) for i in self._parents],
            "extra": self._extra_state(ref),
            "members": [
                {
                    "candidate": list(m.candidate),
                    "asked": m.asked,
                    "told": m.told,
                    "scores": None if m.scores is None else list(m.scores),
                }
                for m in self._members
            ],
            "worst": None if self._worst is None else list(self._worst),
            "seen": sorted(self._seen),
            "immigrants": copy.deepcopy(self._immigrants),
            "individuals": table,
        }

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a state written by :meth:`snapshot` (call after :meth:`setup`)."""
        self._require_setup()
        state = check_header(state, self.name)
        try:
            self._check_snapshot(state)
            self._use_form(state.get("form", "generational") == "async")
            self._setup()
            if self._archipelago is not None:
                self._archipelago.restore(state["islands"])
            else:
                self._restore_population(state)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                f"a snapshot of the {self.name!r} strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc

    def _restore_population(self, state: Mapping[str, Any]) -> None:
        set_random_state(self._rng, state["random_state"])
        self._size = state["population_size"]
        self._generation = state["generation"]
        self._births = int(state.get("births", 0))
        ec = self._ec
        ec.num_evaluations = state["num_evaluations"]
        ec.num_generations = state["num_generations"]
        self._args.clear()
        self._args.update(copy.deepcopy(dict(state["args"])))
        self._args["_ec"] = ec
        pareto = self.pareto_fitness
        individuals = [individual_from(data, pareto=pareto) for data in state["individuals"]]
        ec.population = [individuals[i] for i in state["population"]]
        ec.archive = [individuals[i] for i in state["archive"]]
        self._parents = [individuals[i] for i in state["parents"]]
        self._members = []
        for data in state["members"]:
            candidate = list(data["candidate"])
            config, key = self._decode(candidate)
            scores = None if data["scores"] is None else list(data["scores"])
            self._members.append(
                Member(candidate, config, key, bool(data["asked"]), bool(data["told"]), scores)
            )
        self._worst = None if state["worst"] is None else list(state["worst"])
        self._seen = set(state["seen"])
        self._immigrants = [dict(i) for i in state.get("immigrants", [])]
        self._restore_extra(state["extra"], individuals)
