"""Any Nevergrad optimizer as a byohpo strategy: ``strategy="nevergrad:NGOpt"``, or an object."""

from __future__ import annotations

import difflib
import logging
from collections.abc import Mapping
from typing import Any, ClassVar

from byohpo.errors import MissingExtraError, StrategyError
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace, Static
from byohpo.strategies import _options as options
from byohpo.strategies._replayed import ReplayedStrategy


def _nevergrad() -> Any:
    try:
        import nevergrad
    except ImportError:
        raise MissingExtraError(
            "nevergrad", "nevergrad", "A Nevergrad optimizer as strategy"
        ) from None
    _accept_one_element_arrays()
    return nevergrad


def _float_of_one_element(value: Any) -> float:
    import numpy as np

    return float(np.asarray(value, dtype=float).reshape(-1)[0]) if np.ndim(value) else float(value)


def _accept_one_element_arrays() -> None:
    """Nevergrad 1.0.12's metamodel (which NGOpt uses) calls ``float()`` on a one-element
    array, which numpy 2.4 refuses; that one module gets a ``float`` that takes it."""
    from nevergrad.optimization import metamodel

    metamodel.float = _float_of_one_element


def optimizer_name(name: str) -> str:
    """The registered Nevergrad optimizer of ``nevergrad:<name>`` (raises for an unknown one)."""
    registry = _nevergrad().optimizers.registry
    by_lower = {key.lower(): key for key in registry}
    found = by_lower.get(name.strip().lower())
    if found is None:
        close = difflib.get_close_matches(name.strip(), list(registry), n=1, cutoff=0.6)
        hint = f"Did you mean 'nevergrad:{close[0]}'? " if close else ""
        raise StrategyError(
            "a Nevergrad optimizer name must be one of nevergrad.optimizers.registry "
            "(such as NGOpt, DE, TwoPointsDE, CMA, PSO, OnePlusOne)",
            repr(name),
            f"{hint}Or pass a configured optimizer class: strategy=NevergradOptimizer(...).",
        )
    return str(found)


def _reverse_log(parameter: object) -> bool:
    return isinstance(parameter, Continuous) and parameter.scaling == "reverse_log"


class NevergradOptimizer(ReplayedStrategy):
    """A Nevergrad optimizer proposing configurations (``pip install 'byohpo[nevergrad]'``).

    ``optimizer`` is a name of ``nevergrad.optimizers.registry`` (``"NGOpt"``,
    ``"DE"``, ``"CMA"``, ...) or a configured optimizer family object (such as
    ``ng.families.DifferentialEvolution(crossover="twopoints")``). It is built
    with ``budget`` (the study's ``max_jobs`` is best: NGOpt chooses its algorithm
    from it, and needs one for spaces with integers or categoricals; default
    100; ``None`` for none) and
    ``num_workers`` (default: the first ``ask``'s ``n``, the study's parallel
    jobs), over the space as Nevergrad parameters (log scales as ``Log``,
    integers cast, categoricals as ``Choice``; a reverse-log ``x`` as
    ``1 - x`` on a log scale). A failed job is told as a very bad value.

    An optimizer that cannot search this space (for example one that refuses
    categorical parameters, or one that proposes one configuration at a time
    while the study runs several) is refused when the strategy is set up or
    first asked, before any job. A resumed study rebuilds the optimizer from
    the seed and replays its history.
    """

    name: ClassVar[str] = "nevergrad"

    def __init__(
        self,
        *,
        optimizer: str | Any = "NGOpt",
        budget: int | None = 100,
        num_workers: int | None = None,
        seed: int | None = None,
    ) -> None:
        super().__init__(seed=seed)
        owner = type(self).__name__
        self.budget = options.optional_whole(owner, "budget", budget, 1)
        self.num_workers = options.optional_whole(owner, "num_workers", num_workers, 1)
        if isinstance(optimizer, str):
            self.optimizer_name: str | None = optimizer_name(optimizer)
            self._family: Any = None
            self.engine = f"Nevergrad's {self.optimizer_name}"
        else:
            if not callable(optimizer):
                raise StrategyError(
                    "a Nevergrad strategy's optimizer is a registry name or an optimizer family",
                    f"{optimizer!r}",
                    "Pass e.g. optimizer='NGOpt' or optimizer=ng.families.DifferentialEvolution().",
                )
            self.optimizer_name = None
            self._family = optimizer
            self.engine = f"the Nevergrad optimizer {optimizer!r}"

    @property
    def options(self) -> dict[str, Any]:
        name = self.optimizer_name or f"object {self._family!r}"
        return {"optimizer": name, "budget": self.budget, "num_workers": self.num_workers}

    def _setup(self) -> None:
        super()._setup()
        self._build(1, probe=True)  # refuse an optimizer that cannot search the space, now

    def _factory(self) -> Any:
        if self._family is not None:
            return self._family
        return _nevergrad().optimizers.registry[self.optimizer_name]

    def _parametrization(self) -> Any:
        return nevergrad_parametrization(self.space, self._engine_seed)

    def _build(self, workers: int, *, probe: bool = False) -> Any:
        logging.getLogger("nevergrad").setLevel(logging.ERROR)
        categorical = [n for n, p in self.space.items() if isinstance(p, Categorical)]
        try:
            with self._quiet():
                optimizer = self._factory()(
                    parametrization=self._parametrization(), budget=self.budget, num_workers=workers
                )
                if probe:
                    optimizer.ask()  # some refuse a space only when asked
        except Exception as exc:  # any refusal by the engine, translated
            text = f"{type(exc).__name__}: {exc}"
            if "parallel" in str(exc).lower():
                raise StrategyError(
                    f"{self.engine} proposes one configuration at a time",
                    f"{workers} parallel jobs",
                    "Run the study with max_parallel_jobs=1, or use an optimizer that runs in "
                    "parallel such as 'nevergrad:NGOpt' or 'nevergrad:DE'.",
                ) from exc
            if categorical:
                raise StrategyError(
                    f"{self.engine} must be able to search categorical parameters",
                    f"{text} (categorical parameters {categorical})",
                    "Use an optimizer that handles them, such as 'nevergrad:NGOpt', "
                    "'nevergrad:DE' or 'nevergrad:PortfolioDiscreteOnePlusOne'.",
                ) from exc
            raise StrategyError(
                f"{self.engine} must be able to search this space", text, "Use 'nevergrad:NGOpt'."
            ) from exc
        return optimizer

    def _start(self, first_n: int) -> None:
        workers = self.num_workers if self.num_workers is not None else first_n
        self._optimizer = self._build(workers)

    def _propose(self) -> tuple[Config, Any]:
        candidate = self._optimizer.ask()
        values = candidate.value
        config: Config = {}
        for name, p in self.space.items():
            if isinstance(p, Static):
                config[name] = p.value
                continue
            value = values[name]
            if isinstance(p, Continuous) and p.scaling == "reverse_log":
                value = p.decode(p.encode(min(max(1.0 - float(value), p.min), p.max)))
            elif isinstance(p, Integer):
                value = min(max(int(value), p.min), p.max)
            elif isinstance(p, Continuous):
                value = p.decode(p.encode(float(value)))
            config[name] = value
        return config, candidate

    def _add_prior(self, config: Config, values: Mapping[str, float]) -> None:
        """An earlier trial told as a point the optimizer did not ask (Nevergrad allows it)."""
        point: dict[str, Any] = {}
        for name, p in self.space.items():
            if isinstance(p, Static):
                continue
            value = config[name]
            if isinstance(p, Continuous) and p.scaling == "reverse_log":
                value = 1.0 - float(value)
            point[name] = value
        candidate = self._optimizer.parametrization.spawn_child(new_value=point)
        try:
            self._report(candidate, dict(values))
        except Exception as exc:  # the engine's refusal, translated
            raise StrategyError(
                f"{self.engine} must accept results of points it did not propose, to warm start",
                f"{type(exc).__name__}: {exc}",
                "Use 'nevergrad:NGOpt' (or another optimizer that accepts them), or drop "
                "warm_start.",
            ) from exc

    def _report(self, handle: Any, metrics: Mapping[str, float] | None) -> None:
        if metrics is None:
            losses = [1e300] * len(self.objectives)
        else:
            losses = [-o.score(metrics[o.metric]) for o in self.objectives]
        self._optimizer.tell(handle, losses[0] if len(losses) == 1 else losses)


def nevergrad_parametrization(space: SearchSpace, seed: int | None) -> Any:
    """Nevergrad's parametrization of ``space``: log scales as ``Log``, a reverse-log scale as
    ``Log`` of ``1 - value``, integers cast, categoricals as ``Choice``; its random state seeded."""
    ng = _nevergrad()
    parameters: dict[str, Any] = {}
    for name, p in space.items():
        if isinstance(p, Continuous):
            if p.scaling == "linear":
                parameters[name] = ng.p.Scalar(lower=p.min, upper=p.max)
            elif p.scaling == "log":
                parameters[name] = ng.p.Log(lower=p.min, upper=p.max)
            else:
                parameters[name] = ng.p.Log(lower=1.0 - p.max, upper=1.0 - p.min)
        elif isinstance(p, Integer):
            kind = ng.p.Log if p.scaling == "log" else ng.p.Scalar
            parameters[name] = kind(lower=p.min, upper=p.max).set_integer_casting()
        elif isinstance(p, Categorical):
            parameters[name] = ng.p.Choice(list(p.values))
    parametrization = ng.p.Dict(**parameters)
    parametrization.random_state.seed(seed)
    return parametrization
