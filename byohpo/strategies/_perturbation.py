"""Explore, as population based training does it: perturb or resample the mutable hyperparameters.

:class:`Explorer` holds which parameters may change within a lineage, the
bounds they may not leave and the perturbation factors, all checked against
the search space when it is built, so a bad option is refused before any job
is launched.

Perturbing a value by a factor ``f`` (drawn per parameter from the factors):

- a continuous value is multiplied by ``f`` (for a ``reverse_log`` parameter
  such as momentum, its distance from 1 is: 0.9 becomes 0.88 or 0.92);
- an integer is multiplied by ``f`` and rounded, moving by at least one;
- a categorical value moves to the next value of its list (``f > 1``) or the
  previous one (``f < 1``).

Every result is clipped to the parameter's bounds (the space's range, or the
narrower ``parameter_bounds``). With probability ``resample_probability`` a
parameter is drawn afresh within its bounds instead.
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from typing import Any

from byohpo.errors import SearchSpaceError, StrategyError
from byohpo.space import (
    Categorical,
    Config,
    Continuous,
    Integer,
    Parameter,
    SearchSpace,
    Static,
    format_value,
    round_significant,
)
from byohpo.strategies import _options as options

_OWNER = "PopulationBasedTraining"


def check_factors(value: object) -> list[float]:
    """Perturbation factors: a non-empty list of positive numbers."""
    if isinstance(value, str | bytes) or not isinstance(value, Sequence) or not value:
        raise StrategyError(
            f"{_OWNER}: perturbation_factors must be a non-empty list of positive numbers",
            repr(value),
            "Give them as e.g. [0.8, 1.2].",
        )
    return [options.positive(_OWNER, "perturbation_factors", f) for f in value]


def _bound(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise StrategyError(
            f"{_OWNER}: parameter_bounds[{name!r}] holds two finite numbers",
            repr(value),
            "Give the bounds as numbers.",
        )
    return float(value)


def check_bounds(value: object) -> dict[str, list[float]]:
    """Bounds by parameter name: ``{name: [low, high]}`` with ``low < high``."""
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise StrategyError(
            f"{_OWNER}: parameter_bounds maps a parameter name to [low, high]",
            repr(value),
            "Give them as e.g. {'learning_rate': [1e-4, 0.05]}.",
        )
    bounds: dict[str, list[float]] = {}
    for name, pair in value.items():
        if isinstance(pair, str | bytes) or not isinstance(pair, Sequence) or len(pair) != 2:
            raise StrategyError(
                f"{_OWNER}: parameter_bounds[{name!r}] must be [low, high]",
                repr(pair),
                "Give two numbers.",
            )
        low, high = _bound(str(name), pair[0]), _bound(str(name), pair[1])
        if not low < high:
            raise StrategyError(
                f"{_OWNER}: parameter_bounds[{name!r}] must be [low, high] with low < high",
                repr(pair),
                "Give two numbers, the smaller first.",
            )
        bounds[str(name)] = [low, high]
    return bounds


def _bounded(name: str, parameter: Parameter, bounds: Sequence[float] | None) -> Parameter:
    """The parameter narrowed to ``bounds``, which must lie within its range."""
    if bounds is None:
        return parameter
    if not isinstance(parameter, Continuous | Integer):
        raise StrategyError(
            f"{_OWNER}: parameter_bounds apply to continuous and integer parameters",
            f"bounds for {name!r}, a {type(parameter).__name__}",
            f"Remove {name!r} from parameter_bounds.",
        )
    low, high = bounds
    if low < parameter.min or high > parameter.max:
        raise StrategyError(
            f"{_OWNER}: parameter_bounds[{name!r}] must lie within the search space's range "
            f"[{parameter.min}, {parameter.max}]",
            f"[{low}, {high}]",
            "Narrow the bounds, or widen the parameter in the space.",
        )
    try:
        if isinstance(parameter, Integer):
            if not (float(low).is_integer() and float(high).is_integer()):
                raise SearchSpaceError("integer bounds must be whole numbers", [low, high])
            return Integer(int(low), int(high), parameter.scaling)
        return Continuous(low, high, parameter.scaling)
    except SearchSpaceError as exc:
        raise StrategyError(
            f"{_OWNER}: parameter_bounds[{name!r}] must make a valid range: {exc.must}",
            f"[{low}, {high}]",
            "Fix the bounds.",
        ) from exc


class Explorer:
    """Draws founders and perturbs configurations of one search space. Stateless but for options.

    ``mutable`` lists the parameters that may change within a lineage (None:
    every tuned parameter but ``fixed``); the others keep their founder's value.
    """

    def __init__(
        self,
        space: SearchSpace,
        *,
        mutable: Sequence[str] | None,
        bounds: Mapping[str, Sequence[float]],
        factors: Sequence[float],
        resample_probability: float,
        fixed: Sequence[str] = (),
    ) -> None:
        self.space = space
        tuned = [n for n in space.tunable_names if n not in fixed]
        if mutable is None:
            names = tuned
        else:
            names = [str(n) for n in mutable]
            for name in names:
                if name not in space:
                    raise StrategyError(
                        f"{_OWNER}: mutable names parameters of the search space",
                        repr(name),
                        f"Use some of {tuned}.",
                    )
                if name in fixed or isinstance(space[name], Static):
                    raise StrategyError(
                        f"{_OWNER}: a mutable parameter is a tuned one (not static, not the "
                        "step parameter)",
                        repr(name),
                        f"Use some of {tuned}.",
                    )
        if not names:
            raise StrategyError(
                f"{_OWNER}: at least one parameter must be mutable",
                f"none of {list(space)}",
                "Add a tuned parameter to the space, or list it in mutable.",
            )
        unknown = [n for n in bounds if n not in space]
        if unknown:
            raise StrategyError(
                f"{_OWNER}: parameter_bounds names parameters of the search space",
                repr(unknown),
                f"Use some of {tuned}.",
            )
        self.mutable = names
        self.factors = list(factors)
        self.resample_probability = resample_probability
        self._ranges: dict[str, Parameter] = {
            name: _bounded(name, space[name], bounds.get(name)) for name in space
        }

    def found(self, rng: random.Random) -> Config:
        """A founder: every tuned parameter drawn on its scale, bounded ones within bounds."""
        return {
            name: (
                parameter.value if isinstance(parameter, Static) else parameter.decode(rng.random())
            )
            for name, parameter in self._ranges.items()
        }

    def explore(self, config: Mapping[str, Any], rng: random.Random) -> Config:
        """``config`` with each mutable parameter perturbed or resampled (see the module)."""
        explored: Config = dict(config)
        for name in self.mutable:
            parameter = self._ranges[name]
            assert not isinstance(parameter, Static)  # checked when built
            if rng.random() < self.resample_probability:
                explored[name] = parameter.decode(rng.random())
            else:
                explored[name] = _perturb(parameter, config[name], rng.choice(self.factors))
        return explored


def _perturb(parameter: Continuous | Integer | Categorical, value: Any, factor: float) -> Any:
    if isinstance(parameter, Categorical):
        texts = [format_value(v) for v in parameter.values]
        text = format_value(value)
        index = texts.index(text) if text in texts else 0
        step = 1 if factor > 1 else -1 if factor < 1 else 0
        return parameter.values[min(max(index + step, 0), len(parameter.values) - 1)]
    if isinstance(parameter, Integer):
        whole = round(int(value) * factor)
        if whole == value and factor != 1:
            whole = int(value) + (1 if factor > 1 else -1)
        return min(max(whole, parameter.min), parameter.max)
    if parameter.scaling == "reverse_log":
        moved = 1.0 - (1.0 - float(value)) * factor
    else:
        moved = float(value) * factor
    return min(max(round_significant(moved), parameter.min), parameter.max)
