"""Peer libraries' optimizers behind byohpo's ask/tell, over byohpo's search spaces.

Each peer runs through its own ask-and-tell interface (Optuna's
``Study.ask``/``Study.tell``, Nevergrad's ``Optimizer.ask``/``Optimizer.tell``)
with its default options, on the same mixed-type spaces expressed in its own
parameter types: a log-scaled parameter as the library's log scale, an
integer as its integer type, a categorical as its categorical type, and a
reverse-log parameter ``x`` (dense near 1) as ``1 - x`` on a log scale.

These adapters are also objects a study could use as its strategy
(``Tuner(strategy=OptunaSearch(...))``): they have ``ask(n)`` and
``tell(config, metrics)``. Optuna and Nevergrad are benchmark-only
dependencies (``pip install -e '.[bench]'``).
"""

from __future__ import annotations

import logging
import warnings
from collections.abc import Mapping, Sequence
from typing import Any

from byohpo.objectives import Objective
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace, Static
from byohpo.strategies._nevergrad_optimizer import nevergrad_parametrization

OPTUNA_SAMPLERS = ("tpe", "cmaes", "nsga2")
NEVERGRAD_OPTIMIZERS = ("NGOpt", "DE", "CMA")


def _reverse_log(parameter: Any) -> bool:
    return isinstance(parameter, Continuous) and parameter.scaling == "reverse_log"


def _losses(objectives: Sequence[Objective], metrics: Mapping[str, float] | None) -> list[float]:
    """Each objective as a value to minimize; a failed trial as the worst value."""
    if metrics is None:
        return [float("inf")] * len(objectives)
    return [
        -float(metrics[o.metric]) if o.maximize else float(metrics[o.metric]) for o in objectives
    ]


class OptunaSearch:
    """An Optuna sampler (``"tpe"``, ``"cmaes"``, ``"nsga2"``) through ``Study.ask``/``tell``."""

    def __init__(
        self, sampler: str, space: SearchSpace, objectives: Sequence[Objective], seed: int
    ) -> None:
        import optuna

        optuna.logging.set_verbosity(optuna.logging.ERROR)
        warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
        samplers = {
            "tpe": lambda: optuna.samplers.TPESampler(seed=seed),
            "cmaes": lambda: optuna.samplers.CmaEsSampler(
                seed=seed, warn_independent_sampling=False
            ),
            "nsga2": lambda: optuna.samplers.NSGAIISampler(seed=seed),
        }
        self.space = space
        self.objectives = tuple(objectives)
        self.study = optuna.create_study(
            sampler=samplers[sampler](), directions=["minimize"] * len(self.objectives)
        )
        dist = optuna.distributions
        self.distributions: dict[str, Any] = {}
        for name, p in space.items():
            if isinstance(p, Continuous):
                low, high, log = p.min, p.max, p.scaling != "linear"
                if _reverse_log(p):
                    low, high = 1.0 - p.max, 1.0 - p.min
                self.distributions[name] = dist.FloatDistribution(low, high, log=log)
            elif isinstance(p, Integer):
                self.distributions[name] = dist.IntDistribution(
                    p.min, p.max, log=p.scaling == "log"
                )
            elif isinstance(p, Categorical):
                self.distributions[name] = dist.CategoricalDistribution(p.values)
        self._pending: dict[int, Any] = {}

    def ask(self, n: int) -> list[Config]:
        configs = []
        for _ in range(n):
            trial = self.study.ask(self.distributions)
            config: Config = {}
            for name, p in self.space.items():
                if isinstance(p, Static):
                    config[name] = p.value
                    continue
                value = trial.params[name]
                config[name] = 1.0 - value if _reverse_log(p) else value
            self._pending[id(config)] = trial
            configs.append(config)
        return configs

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        trial = self._pending.pop(id(config))
        losses = _losses(self.objectives, metrics)
        if any(loss == float("inf") for loss in losses):
            import optuna

            self.study.tell(trial, state=optuna.trial.TrialState.FAIL)
        else:
            self.study.tell(trial, losses)


def _float_of_one_element(value: Any) -> float:
    """``float()`` that also takes a one-element array, as numpy before 2 did."""
    import numpy as np

    return float(np.asarray(value, dtype=float).reshape(-1)[0]) if np.ndim(value) else float(value)


def _patch_nevergrad_metamodel() -> None:
    """Nevergrad 1.0.12's metamodel (which NGOpt uses) calls ``float()`` on a one-element
    array, which numpy 2.4 refuses; give that module a ``float`` that takes it."""
    from nevergrad.optimization import metamodel

    metamodel.float = _float_of_one_element


class NevergradSearch:
    """A Nevergrad optimizer (``"NGOpt"``, ``"DE"``, ``"CMA"``) through ``ask``/``tell``.

    Nevergrad chooses its algorithm knowing the budget and the number of
    parallel workers, so both are given (byohpo's strategies know neither).
    """

    def __init__(
        self,
        optimizer: str,
        space: SearchSpace,
        objectives: Sequence[Objective],
        seed: int,
        *,
        budget: int,
        workers: int,
    ) -> None:
        import nevergrad as ng

        _patch_nevergrad_metamodel()
        logging.getLogger("nevergrad").setLevel(logging.ERROR)
        warnings.filterwarnings("ignore", module="nevergrad")
        warnings.filterwarnings("ignore", category=ng.errors.NevergradWarning)
        warnings.filterwarnings("ignore", category=RuntimeWarning, module=r"scipy\.optimize")
        self.space = space
        self.objectives = tuple(objectives)
        parametrization = nevergrad_parametrization(space, seed)
        self.optimizer = ng.optimizers.registry[optimizer](
            parametrization=parametrization, budget=budget, num_workers=workers
        )
        self._pending: dict[int, Any] = {}

    def ask(self, n: int) -> list[Config]:
        configs = []
        for _ in range(n):
            candidate = self.optimizer.ask()
            values = candidate.value
            config: Config = {}
            for name, p in self.space.items():
                if isinstance(p, Static):
                    config[name] = p.value
                    continue
                value = values[name]
                if _reverse_log(p):
                    value = 1.0 - value
                elif isinstance(p, Integer):
                    value = int(value)
                elif isinstance(p, Continuous):
                    value = float(value)
                config[name] = value
            self._pending[id(config)] = candidate
            configs.append(config)
        return configs

    def tell(self, config: Config, metrics: Mapping[str, float] | None) -> None:
        candidate = self._pending.pop(id(config))
        losses = [min(loss, 1e300) for loss in _losses(self.objectives, metrics)]
        self.optimizer.tell(candidate, losses[0] if len(losses) == 1 else losses)

    def close(self) -> None:
        """Stop the threads some of Nevergrad's optimizers run (else the process cannot exit)."""
        import nevergrad as ng

        stack: list[Any] = [self.optimizer]
        seen: set[int] = set()
        while stack:
            optimizer = stack.pop()
            if id(optimizer) in seen:
                continue
            seen.add(id(optimizer))
            thread = getattr(optimizer, "_messaging_thread", None)
            if thread is not None:
                thread.stop()
            for value in vars(optimizer).values():
                items = value if isinstance(value, list | tuple) else [value]
                stack += [v for v in items if isinstance(v, ng.optimizers.base.Optimizer)]
