"""``auto``: the strategy that chooses one for the study, and records which and why."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.space import Config
from byohpo.strategies import _options as options
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._bayesian import BayesianOptimization
from byohpo.strategies._genetic import DifferentialEvolution
from byohpo.strategies._model_features import ModelFeatures
from byohpo.strategies._snapshots import check_header, header
from byohpo.trial import Mode

CHOICES: Mapping[str, type[Strategy]] = {
    "bo": BayesianOptimization,
    "dea": DifferentialEvolution,
}
"""What ``auto`` may choose."""

MODEL_FEATURES_LIMIT = 40
"""Above this many model features (a categorical of k values counts k), ``bo``'s Gaussian
process needs more results than a study buys to learn its length scales."""

MODEL_JOBS_LIMIT = 500
"""Above this many jobs, fitting the Gaussian process to every result costs seconds per ask;
differential evolution, the best of byohpo's evolutionary strategies at 200 evaluations, then."""


def choose(features: int, objectives: int, mode: str, max_jobs: int | None) -> tuple[str, str]:
    """The strategy ``auto`` runs, and why, for a space of ``features`` model features.

    The rule follows ``docs/benchmarks.md``: ``bo`` has the lowest mean
    regret over the ten problems there at 50 and at 200 evaluations (at 200
    it trails ``eda`` and ``dea`` on one, ackley-mixed, and leads on the nine
    others, so there is no budget up to 200 at which an evolutionary strategy
    does better), and is the only model-based option for several objectives
    and for asynchronous mode.
    """
    if objectives > 1:
        return "bo", (
            f"{objectives} objectives: bo's random weightings (ParEGO) over one Gaussian process"
        )
    if mode == Mode.ASYNC:
        return "bo", "asynchronous mode: bo accounts for the jobs still running"
    if features > MODEL_FEATURES_LIMIT:
        return "dea", (
            f"{features} model features (more than {MODEL_FEATURES_LIMIT}): too many for a "
            "Gaussian process to learn from a study's results"
        )
    if max_jobs is not None and max_jobs > MODEL_JOBS_LIMIT:
        return "dea", (
            f"max_jobs={max_jobs} (more than {MODEL_JOBS_LIMIT}): a Gaussian process over every "
            "result would cost seconds per ask"
        )
    budget = "" if max_jobs is None else f"max_jobs={max_jobs}, "
    return "bo", (
        f"one objective, {budget}{features} model features: bo had the lowest mean regret "
        "at 50 and 200 evaluations in the benchmarks"
    )


class AutoStrategy(Strategy):
    """Chooses the strategy for the study's space, budget, objectives and mode (see :func:`choose`).

    ``max_jobs`` is the study's budget when known. The choice and the reason
    are in :attr:`options` (``chosen``, ``why``), which the study records;
    a resumed study keeps the recorded choice even if a later version of
    byohpo would choose otherwise. Everything else is the chosen strategy's
    own behaviour; its snapshot is inside this one's.
    """

    name: ClassVar[str] = "auto"
    supports_async: ClassVar[bool] = True
    supports_multi_objective: ClassVar[bool] = True

    def __init__(
        self,
        *,
        max_jobs: int | None = None,
        chosen: str | None = None,
        why: str | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        owner = type(self).__name__
        self.max_jobs = options.optional_whole(owner, "max_jobs", max_jobs, 1)
        self.chosen = (
            None if chosen is None else options.choice(owner, "chosen", chosen, tuple(CHOICES))
        )
        self.why = None if why is None else str(why)
        self._recorded = chosen is not None
        self._inner: Strategy | None = None
        self._mode = "generational"

    @property
    def options(self) -> dict[str, Any]:
        return {"max_jobs": self.max_jobs, "chosen": self.chosen, "why": self.why}

    @property
    def strategy(self) -> Strategy:
        """The strategy chosen (after setup)."""
        if self._inner is None:
            self._require_setup()
            raise AssertionError("set up without a chosen strategy")  # pragma: no cover
        return self._inner

    def _setup(self) -> None:
        self._choose()

    def set_mode(self, mode: str) -> None:
        if mode != self._mode:
            self._mode = mode
            if not self._recorded:
                self.chosen = None
            self._choose()
        self.strategy.set_mode(mode)

    def _choose(self) -> None:
        if self.chosen is None:
            width = ModelFeatures(self.space).width
            self.chosen, self.why = choose(width, len(self.objectives), self._mode, self.max_jobs)
        inner = CHOICES[self.chosen](seed=self.seed)
        inner.setup(self.space, self.objectives, self.seed)
        self._inner = inner

    def ask(self, n: int) -> list[Config]:
        """The chosen strategy's configurations."""
        self._check_n(n)
        return self.strategy.ask(n)

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Tell the chosen strategy."""
        self.strategy.tell(config, metrics)

    def warm_start(self, trials: Sequence[PriorTrial]) -> int:
        """The chosen strategy's warm start."""
        return self.strategy.warm_start(trials)

    def snapshot(self) -> dict[str, Any]:
        """The choice, why, and the chosen strategy's own snapshot."""
        self._require_setup()
        state = header(self.name)
        state.update(
            options=self.options,
            space=self.space.to_json(),
            objectives=[[o.metric, o.direction.value] for o in self.objectives],
            mode=self._mode,
            chosen=self.strategy.snapshot(),
        )
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to the recorded choice and its strategy's state (call after :meth:`setup`)."""
        self._require_setup()
        state = check_header(state, self.name)
        try:
            self._check_snapshot(state)
            self._recorded = True
            self._mode = str(state["mode"])
            self._choose()
            self.strategy.restore(state["chosen"])
        except (KeyError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                "a snapshot of the 'auto' strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc
