"""Search strategies behind one ask/tell interface.

Every strategy a study can name, with what it can do:

- ``random`` (:class:`RandomSearch`): asynchronous (refills a slot as soon as
  a job ends); takes several objectives, unranked.
- ``ga`` (:class:`GeneticAlgorithm`), ``es`` (:class:`EvolutionStrategy`),
  ``dea`` (:class:`DifferentialEvolution`), ``eda``
  (:class:`EstimationOfDistribution`): generational or asynchronous (the
  tuner's mode: one child bred per freed slot), one objective; islands with
  migration as options (``islands``, ``migration_interval``, ``migrants``,
  ``migration_topology``).
- ``pso`` (:class:`ParticleSwarm`), ``sa`` (:class:`SimulatedAnnealing`):
  generational, one objective.
- ``nsga2`` (:class:`NSGA2`): generational or asynchronous, with islands; one
  or several objectives, with a Pareto front (:meth:`ParetoStrategy.pareto_front`).
- ``paes`` (:class:`PAES`): generational, one or several objectives, with a
  Pareto front.
- ``pbt`` (:class:`PopulationBasedTraining`): generational or asynchronous
  (the tuner's mode), one objective; each step warm-starts from a parent
  trial's checkpoint (:class:`Suggestion`).
- ``sagemaker:bayesian|random|hyperband|grid`` (:class:`SageMakerTuner`):
  SageMaker's own tuner, run as one tuning job whose jobs become trials.

:func:`make_strategy` turns what a user passes as ``strategy=`` (a name with
options, a strategy class or object, or an object of their own with ``ask``
and ``tell``) into a :class:`Strategy`.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

from byohpo.errors import StrategyError
from byohpo.strategies._annealing import SimulatedAnnealing
from byohpo.strategies._automatic import AutoStrategy
from byohpo.strategies._base import PriorTrial, Strategy
from byohpo.strategies._bayesian import BayesianOptimization
from byohpo.strategies._evolution_strategy import EvolutionStrategy
from byohpo.strategies._evolutionary import EvolutionaryStrategy
from byohpo.strategies._genetic import (
    DifferentialEvolution,
    EstimationOfDistribution,
    GeneticAlgorithm,
)
from byohpo.strategies._multiobjective import NSGA2, PAES, ParetoPoint, ParetoStrategy
from byohpo.strategies._nevergrad_optimizer import NevergradOptimizer
from byohpo.strategies._optuna_sampler import OptunaSampler
from byohpo.strategies._pbt import PopulationBasedTraining
from byohpo.strategies._random_search import RandomSearch
from byohpo.strategies._replayed import ReplayedStrategy
from byohpo.strategies._sagemaker_tuner import SageMakerTuner
from byohpo.strategies._snapshots import SNAPSHOT_FORMAT
from byohpo.strategies._suggestion import Suggestion
from byohpo.strategies._swarm import ParticleSwarm
from byohpo.strategies._user import UserStrategy, is_user_strategy

__all__ = [
    "NSGA2",
    "PAES",
    "SNAPSHOT_FORMAT",
    "STRATEGIES",
    "AutoStrategy",
    "BayesianOptimization",
    "DifferentialEvolution",
    "EstimationOfDistribution",
    "EvolutionStrategy",
    "EvolutionaryStrategy",
    "GeneticAlgorithm",
    "NevergradOptimizer",
    "OptunaSampler",
    "ParetoPoint",
    "ParetoStrategy",
    "ParticleSwarm",
    "PopulationBasedTraining",
    "PriorTrial",
    "RandomSearch",
    "ReplayedStrategy",
    "SageMakerTuner",
    "SimulatedAnnealing",
    "Strategy",
    "Suggestion",
    "UserStrategy",
    "make_strategy",
    "strategy_options",
]

STRATEGIES: Mapping[str, type[Strategy]] = MappingProxyType(
    {
        cls.name: cls
        for cls in (
            AutoStrategy,
            RandomSearch,
            BayesianOptimization,
            GeneticAlgorithm,
            ParticleSwarm,
            PAES,
            NSGA2,
            EvolutionStrategy,
            SimulatedAnnealing,
            DifferentialEvolution,
            EstimationOfDistribution,
            PopulationBasedTraining,
        )
    }
)
"""Every strategy name a study may use, and its class."""

_ALIASES: Mapping[str, str] = MappingProxyType(
    {cls.__name__.lower(): name for name, cls in STRATEGIES.items()}
)


ENGINES: Mapping[str, tuple[type[Strategy], str]] = MappingProxyType(
    {"optuna": (OptunaSampler, "sampler"), "nevergrad": (NevergradOptimizer, "optimizer")}
)
"""Prefixes of names that run another library's algorithm: ``optuna:tpe``, ``nevergrad:NGOpt``
(the strategy class, and the option the part after the colon goes to)."""


def _engine(name: str) -> tuple[type[Strategy], dict[str, Any]] | None:
    """The class and preset option of a prefixed name such as ``optuna:tpe`` (None: no prefix)."""
    prefix, colon, rest = name.strip().partition(":")
    if not colon or prefix.lower() not in ENGINES:
        return None
    cls, option = ENGINES[prefix.lower()]
    if not rest.strip():
        raise StrategyError(
            f"a {prefix.lower()!r} strategy name says which algorithm: {prefix.lower()}:<name>",
            repr(name),
            "Write e.g. 'optuna:tpe' or 'nevergrad:NGOpt'.",
        )
    return cls, {option: rest.strip()}


def strategy_options(strategy: str | type[Strategy]) -> list[str]:
    """The options a strategy's constructor takes (``seed`` included), by name or class."""
    engine = _engine(strategy) if isinstance(strategy, str) else None
    if engine is not None:
        return [o for o in strategy_options(engine[0]) if o not in engine[1]]
    cls = _lookup(strategy) if isinstance(strategy, str) else strategy
    return [
        p.name
        for p in inspect.signature(cls.__init__).parameters.values()
        if p.kind is inspect.Parameter.KEYWORD_ONLY
    ]


def _lookup(name: str) -> type[Strategy]:
    key = name.strip().lower()
    key = _ALIASES.get(key, key)
    if key in ENGINES:  # "optuna" with sampler=..., as a study records it
        return ENGINES[key][0]
    cls = STRATEGIES.get(key)
    if cls is None:
        close = difflib.get_close_matches(key, [*STRATEGIES, *_ALIASES], n=1, cutoff=0.5)
        hint = f"Did you mean {_ALIASES.get(close[0], close[0])!r}? " if close else ""
        raise StrategyError(
            f"a strategy name must be one of {', '.join(repr(n) for n in STRATEGIES)}",
            repr(name),
            f"{hint}Or run another library's algorithm as 'optuna:<sampler>' or "
            "'nevergrad:<optimizer>', or pass an object of your own with ask(n) and "
            "tell(config, metrics).",
        )
    return cls


def _build(cls: type[Strategy], options: Mapping[str, Any]) -> Strategy:
    allowed = strategy_options(cls)
    unknown = [key for key in options if key not in allowed]
    if unknown:
        hints = []
        for key in unknown:
            close = difflib.get_close_matches(key, allowed, n=1)
            if close:
                hints.append(f"{key!r} -> {close[0]!r}")
        hint = f" Did you mean {', '.join(hints)}?" if hints else ""
        raise StrategyError(
            f"the {cls.name!r} strategy ({cls.__name__}) takes the options {', '.join(allowed)}",
            f"{', '.join(unknown)}",
            f"Remove or rename the unknown options.{hint}",
        )
    return cls(**options)


def make_strategy(spec: object, **options: Any) -> Strategy:
    """The :class:`Strategy` for what a user passes as ``strategy=``.

    ``spec`` is a strategy name (``"ga"``; options go to its constructor and
    are checked, e.g. ``make_strategy("ga", mutation_rate=0.1)``), a strategy
    class, a configured strategy object (returned as is), or an object of
    the user's own with ``ask(n)`` and ``tell(config, metrics)`` (wrapped in
    :class:`UserStrategy`). Raises :class:`~byohpo.errors.StrategyError`
    for an unknown name (suggesting the nearest), an option the strategy
    does not take (listing those it takes), or a bad option value.
    """
    if isinstance(spec, str) and spec.strip().lower().split(":")[0] == SageMakerTuner.name:
        # "sagemaker:<algorithm>": SageMaker's own tuner (its jobs recorded as trials)
        _, _, algorithm = spec.partition(":")
        return _build(
            SageMakerTuner, {**({"algorithm": algorithm} if algorithm else {}), **options}
        )
    if isinstance(spec, str):
        engine = _engine(spec)
        if engine is not None:
            cls, preset = engine
            clash = sorted(set(preset) & set(options))
            if clash:
                raise StrategyError(
                    f"{spec!r} already names the {clash[0]}",
                    f"{clash[0]}={options[clash[0]]!r} as well",
                    f"Drop the {clash[0]} option, or use the name {cls.name!r} with it.",
                )
            return _build(cls, {**preset, **options})
        return _build(_lookup(spec), options)
    if isinstance(spec, type) and issubclass(spec, Strategy):
        return _build(spec, options)
    if options:
        raise StrategyError(
            "strategy options apply when the strategy is given by name or class",
            f"options {sorted(options)} with a {type(spec).__name__} object",
            "Configure the object itself, or pass the strategy's name with the options.",
        )
    if isinstance(spec, Strategy):
        return spec
    if is_user_strategy(spec):
        return UserStrategy(spec)
    raise StrategyError(
        "a strategy is a name, a Strategy, or an object with ask(n) and tell(config, metrics)",
        f"{spec!r} of type {type(spec).__name__}",
        f"Use one of {', '.join(repr(n) for n in STRATEGIES)}, or give your object those methods.",
    )
