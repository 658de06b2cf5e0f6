"""The step machine that runs inspyred's evolutionary algorithms one ask/tell at a time.

inspyred's ``EvolutionaryComputation.evolve`` owns its loop and calls the
evaluator itself. A SageMaker study cannot wait inside a function call for
hours, so :class:`EvolutionaryStrategy` replays the same loop around
inspyred's own operators, one generation at a time
(:mod:`byohpo.strategies._generational`) on one population
(:mod:`byohpo.strategies._population`).

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

import random
from abc import abstractmethod
from collections.abc import Callable, Mapping, Sequence
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies import _options as options
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._generational import GenerationalForm
from byohpo.strategies._individuals import (
    Evaluated,
    Member,
    digest,
    new_computation,
    unit_bounder,
)
from byohpo.strategies._islands import Archipelago, IslandSettings, island_size
from byohpo.strategies._population import Population
from byohpo.strategies._seeding import best_first
from byohpo.strategies._snapshots import check_header, check_json, header
from byohpo.strategies._steady_state import SteadyStateForm
from byohpo.trial import Mode

__all__ = ["Evaluated", "EvolutionaryStrategy", "new_computation", "unit_bounder"]


class EvolutionaryStrategy(Strategy):
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

    The population's state and its JSON form, each form's loop and the island
    model are collaborators (:class:`~byohpo.strategies._population.Population`,
    :class:`~byohpo.strategies._generational.GenerationalForm`,
    :class:`~byohpo.strategies._steady_state.SteadyStateForm`,
    :class:`~byohpo.strategies._islands.Archipelago`); a subclass says only
    what its algorithm does differently, through the hooks below.
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

    def _breeding_minimum(self, size: int) -> int:
        """Results the population of ``size`` must hold before the asynchronous form breeds
        children (until then they are drawn uniformly): a pair of parents by default."""
        return min(2, size)

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

    # -- the population, as the algorithms' hooks see it ------------------------------
    @property
    def _ec(self) -> Any:
        """The inspyred computation (population, archive, operators)."""
        return self._population.ec

    @property
    def _rng(self) -> random.Random:
        return self._population.rng

    @property
    def _args(self) -> dict[str, Any]:
        """inspyred's keyword arguments, as its operators see them."""
        return self._population.args

    # -- lifecycle --------------------------------------------------------------------
    def _setup(self) -> None:
        size = None if self.population_size is None else self._default_size(self.population_size)
        self._population = Population(self, self._computation, self.seed, size)
        if size is not None:
            self._args.update(self._arguments(size))
        self._generational = GenerationalForm(self._population, self)
        self._steady = SteadyStateForm(self._population, self)
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

    @property
    def _form(self) -> GenerationalForm | SteadyStateForm:
        return self._steady if self._asynchronous else self._generational

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
        return self._form.generation

    # -- ask / tell -------------------------------------------------------------------
    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` configurations (see the class's forms)."""
        n = self._check_n(n)
        self._require_setup()
        if self._archipelago is not None:
            return self._archipelago.ask(n)
        population = self._population
        if population.size is None:
            population.size = max(self._default_size(n), self.min_population)
            self._args.update(self._arguments(population.size))
        return self._form.ask(n)

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
        for member in self._population.members:
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
        self._form.told(member)

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """Seed the initial population with earlier trials (the best first, as many as the
        population holds); the rest of it is drawn as usual. Before the first ask only."""
        self._require_setup()
        population = self._population
        if population.generation >= 0 or population.members:
            raise StrategyError(
                "warm_start() comes before the first ask()",
                f"a warm start at generation {population.generation}",
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
        population.members = members
        population.seen.update(digest(m.key) for m in members)
        size = population.size
        return min(len(members), size) if size is not None else len(members)

    def _decode(self, candidate: list[float]) -> tuple[Config, str]:
        return self._population.decode(candidate)

    # -- islands ----------------------------------------------------------------------
    def emigrants(self, count: int) -> list[dict[str, Any]]:
        """Copies of up to ``count`` of the best successful members, as JSON data."""
        return self._population.emigrants(count)

    def immigrate(self, newcomers: list[dict[str, Any]]) -> None:
        """Take members sent by another island (at once, or at the end of this generation)."""
        self._form.immigrate(newcomers)

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
            state.update(self._population.state(self._extra_state))
        check_json(state, f"the {self.name!r} strategy's snapshot")
        return state

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
                self._population.restore(state, self._restore_extra)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                f"a snapshot of the {self.name!r} strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc
