"""Population based training (Jaderberg et al., 2017) as SageMaker training jobs.

A population of members trains in steps. Each step of a member is one
training job that starts from the checkpoint of its parent trial (the
member's own previous step, or a donor's) and trains ``step_size`` more
epochs. Between steps, a member in the bottom ``quantile_fraction`` of the
population copies a member of the top quantile (*exploit*: its checkpoint
and its hyperparameters) and perturbs the mutable hyperparameters
(*explore*, see :mod:`byohpo.strategies._perturbation`).

Two forms, one switch (the tuner's ``mode``, or ``synchronous=``):

- **generational** (Sherpa's): the whole population trains a generation;
  once every member was told, the next generation is decided at once from
  the whole generation's results;
- **asynchronous** (Ray Tune's default): a member whose step was told
  compares itself with the latest results of the others and goes on at once.

Promises:

- A suggestion names its parent trial (:class:`~byohpo.strategies.Suggestion`),
  taken from the trial ids the tuner tells with each result. Only a trial
  that completed is ever a parent: a failed one has no finished checkpoint.
- A member whose job fails is replaced from a donor of the top quantile (or,
  while nobody has completed, starts afresh): the population never waits for it.
- ``step_parameter`` (e.g. ``num_epoch``, an Integer of the space) counts the
  epochs trained so far: a step of generation ``g`` sets it to
  ``(g + 1) * step_size``, so a job that continues a checkpoint of epoch
  ``g * step_size`` trains ``step_size`` more epochs. Its range in the space
  bounds the training (and the generations, when ``generations`` is not set).
- Snapshots are complete JSON: a restored strategy continues with exactly the
  decisions the uninterrupted one would have made.

The members and their steps are kept by :mod:`byohpo.strategies._pbt_population`;
the exploit and explore decisions are made by
:mod:`byohpo.strategies._exploitation`.
"""

from __future__ import annotations

import random
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

from byohpo.errors import StrategyError
from byohpo.space import Config, Integer
from byohpo.strategies import _options as check
from byohpo.strategies._base import Strategy
from byohpo.strategies._exploitation import Exploitation
from byohpo.strategies._pbt_population import NEW, PLANNED, Population
from byohpo.strategies._perturbation import Explorer, check_bounds, check_factors
from byohpo.strategies._snapshots import (
    check_header,
    check_json,
    header,
    random_state,
    set_random_state,
)
from byohpo.trial import Mode

_OWNER = "PopulationBasedTraining"


class PopulationBasedTraining(Strategy):
    """Population based training: exploit through checkpoints, explore by perturbation.

    Options (as in Sherpa and Ray Tune):

    - ``population_size``: members trained side by side (default: the slots of
      the first ``ask``, at least 2);
    - ``generations``: steps of each member (default: as many as the step
      parameter's range holds, or until the tuner's ``max_jobs``);
    - ``quantile_fraction``: the bottom fraction copies the top fraction (0.25);
    - ``perturbation_factors``: a perturbed value is multiplied by one of these
      (``(0.8, 1.2)``);
    - ``resample_probability``: a mutable value is drawn afresh from its range
      instead of perturbed (0.25);
    - ``parameter_bounds``: ``{name: [low, high]}`` a value may not leave (within
      the space's range, which bounds every parameter anyway);
    - ``mutable``: the parameters that may change within a lineage (default:
      every tuned one but the step parameter); the others keep their
      founder's value;
    - ``step_parameter`` and ``step_size``: the hyperparameter counting the
      epochs trained (total, counting those of the checkpoint) and the epochs
      a step adds. Without a step parameter every job trains as its script
      says (for scripts that train a fixed number of epochs per job);
    - ``synchronous``: True for the generational form, False for the
      asynchronous one, None (default) for the form of the tuner's mode.
    """

    name: ClassVar[str] = "pbt"
    supports_async: ClassVar[bool] = True
    warm_starts: ClassVar[bool] = True

    def __init__(
        self,
        *,
        population_size: int | None = None,
        generations: int | None = None,
        quantile_fraction: float = 0.25,
        perturbation_factors: Sequence[float] = (0.8, 1.2),
        resample_probability: float = 0.25,
        parameter_bounds: Mapping[str, Sequence[float]] | None = None,
        mutable: Sequence[str] | None = None,
        step_parameter: str | None = None,
        step_size: int = 1,
        synchronous: bool | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        self.population_size = check.optional_whole(_OWNER, "population_size", population_size, 2)
        self.generations = check.optional_whole(_OWNER, "generations", generations, 1)
        self.quantile_fraction = check.rate(_OWNER, "quantile_fraction", quantile_fraction)
        if not 0.0 < self.quantile_fraction <= 0.5:
            raise StrategyError(
                f"{_OWNER}: quantile_fraction must lie in (0, 0.5]",
                repr(quantile_fraction),
                "Give the share of the population that is replaced, such as 0.25.",
            )
        self.perturbation_factors = check_factors(perturbation_factors)
        self.resample_probability = check.rate(_OWNER, "resample_probability", resample_probability)
        self.parameter_bounds = check_bounds(parameter_bounds)
        if mutable is not None and (
            isinstance(mutable, str | bytes) or not isinstance(mutable, Sequence)
        ):
            raise StrategyError(
                f"{_OWNER}: mutable is a list of parameter names", repr(mutable), "List them."
            )
        self.mutable = None if mutable is None else [str(name) for name in mutable]
        if step_parameter is not None and not isinstance(step_parameter, str):
            raise StrategyError(
                f"{_OWNER}: step_parameter names the parameter counting the epochs",
                repr(step_parameter),
                "Give its name, e.g. 'num_epoch'.",
            )
        self.step_parameter = step_parameter
        self.step_size = check.whole(_OWNER, "step_size", step_size, 1)
        if synchronous is not None and not isinstance(synchronous, bool):
            raise StrategyError(
                f"{_OWNER}: synchronous is True, False or None", repr(synchronous), "Pick one."
            )
        self.synchronous = synchronous

    @property
    def options(self) -> dict[str, Any]:
        """The options it was built with: ``make_strategy("pbt", **options)`` rebuilds it."""
        return {
            "population_size": self.population_size,
            "generations": self.generations,
            "quantile_fraction": self.quantile_fraction,
            "perturbation_factors": list(self.perturbation_factors),
            "resample_probability": self.resample_probability,
            "parameter_bounds": {k: list(v) for k, v in self.parameter_bounds.items()},
            "mutable": None if self.mutable is None else list(self.mutable),
            "step_parameter": self.step_parameter,
            "step_size": self.step_size,
            "synchronous": self.synchronous,
        }

    # -- lifecycle ----------------------------------------------------------------------
    def _setup(self) -> None:
        explorer = Explorer(
            self.space,
            mutable=self.mutable,
            bounds=self.parameter_bounds,
            factors=self.perturbation_factors,
            resample_probability=self.resample_probability,
            fixed=[self.step_parameter] if self.step_parameter else [],
        )
        self._rng = random.Random(self.seed)
        self._exploitation = Exploitation(
            explorer,
            self._rng,
            self._config_key,
            self.quantile_fraction,
            self._generation_limit(),
            self.step_parameter,
            self.step_size,
        )
        self._size: int | None = self.population_size
        self._population = Population(self._config_key)
        self._use_form(True if self.synchronous is None else self.synchronous)

    def _generation_limit(self) -> int | None:
        if self.step_parameter is None:
            return self.generations
        name = self.step_parameter
        parameter = self.space.get(name)
        if not isinstance(parameter, Integer):
            raise StrategyError(
                f"{_OWNER}: step_parameter must be an Integer parameter of the search space "
                "(its range bounds the epochs a member trains)",
                f"{name!r}: {parameter!r}" if parameter is not None else f"no {name!r} in it",
                f"Add e.g. {name} = Integer({self.step_size}, {self.step_size * 10}).",
            )
        if self.step_size < parameter.min:
            raise StrategyError(
                f"{_OWNER}: the first step's {name}={self.step_size} (step_size) must lie in "
                f"the space's range [{parameter.min}, {parameter.max}]",
                f"step_size={self.step_size}",
                f"Lower {name}'s min to {self.step_size} or less, or raise step_size.",
            )
        most = parameter.max // self.step_size
        if self.generations is not None and self.generations > most:
            raise StrategyError(
                f"{_OWNER}: the last generation's {name} = generations * step_size must lie in "
                f"the space's range [{parameter.min}, {parameter.max}]",
                f"{self.generations} * {self.step_size} = {self.generations * self.step_size}",
                f"Raise {name}'s max to {self.generations * self.step_size}, or train fewer "
                "generations.",
            )
        return self.generations if self.generations is not None else most

    def set_mode(self, mode: str) -> None:
        """Take the form of the tuner's mode, unless ``synchronous`` was given."""
        if self.synchronous is None:
            self._use_form(mode != Mode.ASYNC)

    def _use_form(self, synchronous: bool) -> None:
        self._synchronous = synchronous
        # A capability of this instance, like a user strategy's: the generational form
        # hands out whole generations only.
        setattr(self, "supports_async", not synchronous)  # noqa: B010

    @property
    def is_synchronous(self) -> bool:
        """Whether it runs the generational form (decided at setup, or by the tuner's mode)."""
        self._require_setup()
        return self._synchronous

    # -- ask / tell -----------------------------------------------------------------------
    def ask(self, n: int) -> list[Config]:
        """Up to ``n`` next steps, as :class:`Suggestion` objects naming their parent trial."""
        n = self._check_n(n)
        self._require_setup()
        if self._size is None:
            self._size = max(n, 2)
        population = self._population
        population.found(self._size)
        chosen: list[int] = []
        if self._synchronous:
            self._exploitation.decide_generation(population)
            chosen = [i for i, m in enumerate(population.members) if m.status == PLANNED][:n]
        else:
            for index, member in enumerate(population.members):
                if len(chosen) < n and member.status == NEW:
                    member.current = self._exploitation.founder(0)
                    chosen.append(index)
            while population.ready and len(chosen) < n:
                index = population.ready.pop(0)
                if self._exploitation.decide(population, index):
                    chosen.append(index)
        return [population.hand_out(index) for index in chosen]

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        """Record a step's result; the trial id the tuner tells with it may become a parent."""
        key = self._config_key(config)
        scores = self._scores(metrics)
        index = self._population.record(key, config, None if scores is None else scores[0])
        if not self._synchronous:
            self._population.ready.append(index)

    # -- persistence ---------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        """The whole state as JSON data: options, form, random state and every member."""
        self._require_setup()
        state = header(self.name)
        state.update(
            space=self.space.to_json(),
            objectives=[[o.metric, o.direction.value] for o in self.objectives],
            options=self.options,
            synchronous=self._synchronous,
            random_state=random_state(self._rng),
            population_size=self._size,
            **self._population.to_json(),
        )
        check_json(state, "the snapshot of 'pbt'")
        return state

    def restore(self, state: Mapping[str, Any]) -> None:
        """Return to a state written by :meth:`snapshot` (call after :meth:`setup`)."""
        self._require_setup()
        state = check_header(state, self.name)
        try:
            self._check_snapshot(state)
            self._setup()
            self._use_form(bool(state["synchronous"]))
            set_random_state(self._rng, state["random_state"])
            self._size = None if state["population_size"] is None else int(state["population_size"])
            self._population.restore(state)
        except (KeyError, IndexError, TypeError, ValueError) as exc:
            if isinstance(exc, StrategyError):
                raise
            raise StrategyError(
                "a snapshot of the 'pbt' strategy must hold everything snapshot() wrote",
                f"{type(exc).__name__}: {exc}",
                "Pass the snapshot unchanged.",
            ) from exc
