"""The strategy interface: what every search algorithm in byohpo offers the tuner.

A strategy decides what to try next. It never touches AWS, the store or the
clock. The tuner calls, in this order:

1. :meth:`Strategy.setup` once, with the search space, the objectives and a seed;
2. :meth:`Strategy.ask` for up to ``n`` configurations whenever slots are free
   (a generational strategy returns its whole generation, at most ``n`` at a
   time, then ``[]`` until every member was told);
3. :meth:`Strategy.tell` once per asked configuration, with the job's metrics,
   or ``None`` when the job failed (a failure is still told: the population
   never silently loses a member);
4. :meth:`Strategy.snapshot` after each tell, and :meth:`Strategy.restore` on a
   fresh instance when a study resumes: a restored strategy makes exactly the
   decisions the uninterrupted one would have made.

A user's own algorithm needs only ``ask(n)`` and ``tell(config, metrics)``.

Warm starts (population based training) extend the contract by one object,
:class:`~byohpo.strategies.Suggestion`: a configuration dict that may also
name a ``parent`` trial, whose last checkpoint the new job starts from. The
tuner tells every result with the configuration as a ``Suggestion`` carrying
its ``trial_id``, which is how a strategy learns the ids it may name as
parents. Strategies that return and take plain dicts are unaffected.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.objectives import Objective, objective_values
from byohpo.space import Config, SearchSpace, configuration_key
from byohpo.strategies._snapshots import check_same


@dataclass(frozen=True)
class PriorTrial:
    """A completed trial of an earlier study, as a warm start hands it to a strategy: a
    configuration of this study's space, and the metrics its job reported."""

    config: Config
    metrics: Mapping[str, float] = field(default_factory=dict)


class Strategy(ABC):
    """Base class of byohpo's strategies.

    Capabilities are class attributes, checked by the tuner with a clear error
    instead of failing later:

    - ``supports_async``: ``ask`` may be called while earlier configurations
      are still running, and returns new ones at once (refill a slot as soon
      as any job ends);
    - ``supports_multi_objective``: takes several objectives;
    - ``warm_starts``: its suggestions name parent trials whose checkpoints the
      new jobs start from, so every job must keep its checkpoints
      (``TrainingJob(checkpoint_s3_uri=...)``).
    """

    name: ClassVar[str] = ""
    supports_async: ClassVar[bool] = False
    supports_multi_objective: ClassVar[bool] = False
    warm_starts: ClassVar[bool] = False

    def __init__(self, *, seed: int | None = None) -> None:
        self.seed = seed
        self._space: SearchSpace | None = None
        self._objectives: tuple[Objective, ...] = ()

    # -- lifecycle -----------------------------------------------------------------
    def setup(
        self, space: SearchSpace, objectives: Sequence[Objective], seed: int | None = None
    ) -> None:
        """Bind the strategy to a study. ``seed`` applies when none was given at construction."""
        objectives = tuple(objectives)
        if len(objectives) > 1 and not self.supports_multi_objective:
            raise StrategyError(
                f"the {self.name!r} strategy optimizes a single objective",
                f"{len(objectives)} objectives {[o.metric for o in objectives]}",
                "Use 'nsga2' or 'paes' for several objectives, or keep one objective.",
            )
        if not objectives:
            raise StrategyError(
                "a strategy needs at least one objective", "none", "Pass objective=."
            )
        self._space = space
        self._objectives = objectives
        if self.seed is None:
            self.seed = seed
        self._setup()

    def _setup(self) -> None:  # noqa: B027  (an optional hook, not an abstract method)
        """Hook: build the algorithm's state once space, objectives and seed are known."""

    def set_mode(self, mode: str) -> None:  # noqa: B027  (an optional hook)
        """The tuner's mode (``"generational"`` or ``"async"``), told once after :meth:`setup`.

        A strategy that comes in both forms takes the one of the mode here; the
        default ignores it.
        """

    @property
    def space(self) -> SearchSpace:
        if self._space is None:
            raise StrategyError(
                "a strategy must be set up before use",
                "ask/tell before setup()",
                "Call setup(space, objectives) first (the Tuner does it for you).",
            )
        return self._space

    def _require_setup(self) -> None:
        """Raise :class:`StrategyError` unless :meth:`setup` was called."""
        self.space  # noqa: B018  (the property raises the error)

    @property
    def objectives(self) -> tuple[Objective, ...]:
        return self._objectives

    @property
    def options(self) -> dict[str, Any]:
        """The options the strategy was built with, as JSON data.

        ``make_strategy(strategy.name, **strategy.options)`` builds an equal
        strategy; a study records them to rebuild its strategy on resume.
        """
        return {}

    # -- ask / tell ------------------------------------------------------------------
    @abstractmethod
    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` configurations to evaluate next (possibly none)."""

    @abstractmethod
    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """The result of an asked configuration; ``None`` when its job failed."""

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """Learn from earlier studies' completed trials, once, before the first :meth:`ask`;
        returns how many it used. They were never asked, so they are not told.

        The default uses none (a strategy whose results do not steer it, such as
        random search); population strategies seed their population with the
        best, model-based ones add them to their observations.
        """
        return 0

    # -- persistence -------------------------------------------------------------------
    @abstractmethod
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON-ready data (see :data:`SNAPSHOT_FORMAT`)."""

    @abstractmethod
    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a state written by :meth:`snapshot` (after :meth:`setup`)."""

    def _check_snapshot(self, state: Mapping[str, Any]) -> None:
        """Refuse a snapshot of another space or objectives; adopt the options it records."""
        check_same(
            "search space",
            state["space"],
            self.space.to_json(),
            "Resume with the study's search space.",
        )
        check_same(
            "objectives",
            state["objectives"],
            [[o.metric, o.direction.value] for o in self.objectives],
            "Resume with the study's objectives.",
        )
        if dict(state["options"]) != self.options:
            self._adopt_options(dict(state["options"]))

    def _adopt_options(self, recorded: dict[str, Any]) -> None:
        """Take the options a snapshot was written with (they decide what comes next)."""
        space, objectives, seed = self._space, self._objectives, self.seed
        try:
            type(self).__init__(self, seed=seed, **recorded)
        except TypeError as exc:
            raise StrategyError(
                f"a snapshot of the {self.name!r} strategy records options it takes",
                repr(recorded),
                "Pass the snapshot unchanged.",
            ) from exc
        self._space, self._objectives = space, objectives

    # -- helpers for subclasses ------------------------------------------------------
    @staticmethod
    def _check_n(n: object) -> int:
        if isinstance(n, bool) or not isinstance(n, int) or n < 1:
            raise StrategyError(
                "ask(n) needs a whole number n >= 1 (the free slots)",
                repr(n),
                "Ask for at least one.",
            )
        return n

    def _config_key(self, config: object) -> str:
        """The configuration as SageMaker receives it, as one comparable string.

        Two configurations are the same trial exactly when their keys are equal.
        """
        if not isinstance(config, Mapping):
            raise StrategyError(
                "tell() takes the configuration dict that ask() returned",
                type(config).__name__,
                "Pass the dict from ask() unchanged.",
            )
        missing = [name for name in self.space if name not in config]
        if missing:
            raise StrategyError(
                "tell() takes a configuration of the search space",
                f"a configuration without {missing}",
                "Pass the dict from ask() unchanged.",
            )
        return configuration_key(self.space.hyperparameters(config))

    def _scores(self, metrics: Mapping[str, float] | None) -> list[float] | None:
        """The objectives on a bigger-is-better scale, or None for a failed trial.

        A trial failed when its job failed (``metrics is None``) or when a
        metric an objective needs is missing or not a finite number.
        """
        if metrics is not None and not isinstance(metrics, Mapping):
            raise StrategyError(
                "tell() takes the job's metrics as a dict of name -> number, or None if it failed",
                type(metrics).__name__,
                "Pass a dict such as {'validation:accuracy': 0.91}.",
            )
        try:
            values = objective_values(self.objectives, metrics)
        except (TypeError, ValueError) as exc:
            raise StrategyError(
                "every metric an objective needs must be a number",
                repr(dict(metrics or {})),
                "Pass numbers as metric values.",
            ) from exc
        if values is None:
            return None
        return [
            objective.score(value) for objective, value in zip(self.objectives, values, strict=True)
        ]
