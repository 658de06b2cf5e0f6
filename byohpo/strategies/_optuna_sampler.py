"""Any Optuna sampler as a byohpo strategy: ``strategy="optuna:tpe"``, or a sampler object."""

from __future__ import annotations

import copy
import difflib
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any, ClassVar

from byohpo.errors import MissingExtraError, StrategyError
from byohpo.space import Categorical, Config, Continuous, Integer, Static
from byohpo.strategies._replayed import ReplayedStrategy

SAMPLERS: Mapping[str, str] = {
    "tpe": "TPESampler",
    "gp": "GPSampler",
    "cmaes": "CmaEsSampler",
    "qmc": "QMCSampler",
    "random": "RandomSampler",
    "nsga2": "NSGAIISampler",
    "nsga3": "NSGAIIISampler",
}
"""The names ``optuna:<name>`` takes (an Optuna sampler class's name works too)."""


def _optuna() -> Any:
    try:
        import optuna
    except ImportError:
        raise MissingExtraError("optuna", "optuna", "An Optuna sampler as strategy") from None
    return optuna


def sampler_class_name(name: str) -> str:
    """The Optuna class of ``optuna:<name>``; raises with the nearest name for an unknown one."""
    key = name.strip()
    by_class = {cls.lower(): cls for cls in SAMPLERS.values()}
    found = SAMPLERS.get(key.lower()) or by_class.get(key.lower())
    if found is None:
        close = difflib.get_close_matches(key.lower(), [*SAMPLERS, *by_class], n=1, cutoff=0.5)
        hint = f"Did you mean 'optuna:{close[0]}'? " if close else ""
        raise StrategyError(
            f"an Optuna sampler name must be one of {', '.join(SAMPLERS)} (or its class name)",
            repr(name),
            f"{hint}For another sampler (an OptunaHub one, or one you configured), pass the "
            "sampler object: strategy=OptunaSampler(sampler=my_sampler).",
        )
    return found


def _reverse_log(parameter: object) -> bool:
    return isinstance(parameter, Continuous) and parameter.scaling == "reverse_log"


class OptunaSampler(ReplayedStrategy):
    """An Optuna sampler proposing configurations (``pip install 'byohpo[optuna]'``).

    ``sampler`` is a name (``"tpe"``, ``"gp"``, ``"cmaes"``, ``"qmc"``, ``"random"``,
    ``"nsga2"``, ``"nsga3"``, or a sampler class's name: the sampler is built
    with the study's seed and Optuna's defaults) or a sampler object you
    configured (any :class:`optuna.samplers.BaseSampler`, an OptunaHub one
    included). The space maps to Optuna's distributions: log scales as log,
    integers as integers, categoricals as categoricals, a reverse-log ``x``
    as ``1 - x`` on a log scale. Running jobs are Optuna's running trials;
    a failed job is a failed trial.

    A resumed study rebuilds the sampler and replays its history, so a
    sampler object must be seeded (one made by name always is).
    """

    name: ClassVar[str] = "optuna"

    def __init__(self, *, sampler: str | Any = "tpe", seed: int | None = None) -> None:
        super().__init__(seed=seed)
        if isinstance(sampler, str):
            self.sampler_name: str | None = sampler_class_name(sampler)
            self._sampler_object: Any = None
            self.engine = f"Optuna's {self.sampler_name}"
        else:
            optuna = _optuna()
            if not isinstance(sampler, optuna.samplers.BaseSampler):
                raise StrategyError(
                    "an Optuna strategy's sampler is a name or an optuna.samplers.BaseSampler",
                    f"{sampler!r} of type {type(sampler).__name__}",
                    "Pass e.g. sampler='tpe' or sampler=optuna.samplers.TPESampler(seed=1).",
                )
            self.sampler_name = None
            self._sampler_object = copy.deepcopy(sampler)  # pristine: replays start from it
            self.engine = f"the {type(sampler).__name__} object"

    @property
    def options(self) -> dict[str, Any]:
        if self.sampler_name is not None:
            return {"sampler": self.sampler_name}
        return {"sampler": f"object of {type(self._sampler_object).__name__}"}

    def _setup(self) -> None:
        _optuna()
        super()._setup()

    @contextmanager
    def _quiet(self) -> Iterator[None]:
        """Optuna's log lines (a study created, each trial finished) stay out of the study's."""
        logging = _optuna().logging
        level = logging.get_verbosity()
        logging.set_verbosity(logging.WARNING)
        try:
            with super()._quiet():
                yield
        finally:
            logging.set_verbosity(level)

    def _new_sampler(self) -> Any:
        optuna = _optuna()
        if self._sampler_object is not None:
            return copy.deepcopy(self._sampler_object)
        cls = getattr(optuna.samplers, str(self.sampler_name))
        extra: dict[str, Any] = {}
        if self.sampler_name in ("CmaEsSampler", "GPSampler"):
            extra["warn_independent_sampling"] = False
        return cls(seed=self._engine_seed, **extra)

    def _start(self, first_n: int) -> None:
        optuna = _optuna()
        self._study = optuna.create_study(
            sampler=self._new_sampler(),
            directions=[o.direction.value for o in self.objectives],
        )
        dist = optuna.distributions
        self._distributions: dict[str, Any] = {}
        for name, p in self.space.items():
            if isinstance(p, Continuous):
                low, high = p.min, p.max
                if _reverse_log(p):
                    low, high = 1.0 - p.max, 1.0 - p.min
                self._distributions[name] = dist.FloatDistribution(
                    low, high, log=p.scaling != "linear"
                )
            elif isinstance(p, Integer):
                self._distributions[name] = dist.IntDistribution(
                    p.min, p.max, log=p.scaling == "log"
                )
            elif isinstance(p, Categorical):
                self._distributions[name] = dist.CategoricalDistribution(p.values)

    def _propose(self) -> tuple[Config, Any]:
        trial = self._study.ask(self._distributions)
        config: Config = {}
        for name, p in self.space.items():
            if isinstance(p, Static):
                config[name] = p.value
                continue
            value = trial.params[name]
            if isinstance(p, Continuous) and p.scaling == "reverse_log":
                value = p.decode(p.encode(min(max(1.0 - value, p.min), p.max)))
            elif isinstance(p, Continuous):
                value = p.decode(p.encode(float(value)))  # SageMaker's 6 significant digits
            config[name] = value
        return config, trial

    def _add_prior(self, config: Config, values: Mapping[str, float]) -> None:
        """An earlier trial as a completed trial of Optuna's study (``add_trial``)."""
        optuna = _optuna()
        params = {}
        for name, p in self.space.items():
            if name in self._distributions:
                value = config[name]
                params[name] = 1.0 - float(value) if _reverse_log(p) else value
        self._study.add_trial(
            optuna.trial.create_trial(
                params=params,
                distributions=self._distributions,
                values=[values[o.metric] for o in self.objectives],
            )
        )

    def _report(self, handle: Any, metrics: Mapping[str, float] | None) -> None:
        optuna = _optuna()
        if metrics is None:
            self._study.tell(handle, state=optuna.trial.TrialState.FAIL)
        else:
            self._study.tell(handle, [metrics[o.metric] for o in self.objectives])
