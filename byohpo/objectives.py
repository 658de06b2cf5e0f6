"""What a study optimizes: one or several metrics, each with a direction."""

from __future__ import annotations

import difflib
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum

from byohpo.errors import UserError


class Direction(StrEnum):
    MAXIMIZE = "maximize"
    MINIMIZE = "minimize"

    @classmethod
    def parse(cls, value: object, metric: str = "objective") -> Direction:
        if isinstance(value, Direction):
            return value
        text = str(value).strip().lower()
        aliases = {
            "max": "maximize",
            "maximise": "maximize",
            "min": "minimize",
            "minimise": "minimize",
        }
        text = aliases.get(text, text)
        try:
            return cls(text)
        except ValueError:
            raise UserError(
                f"the direction of {metric!r} must be 'maximize' or 'minimize'",
                repr(value),
                "Fix the direction.",
            ) from None


@dataclass(frozen=True, init=False)
class Objective:
    """A metric (as named in the job's metric definitions) and whether bigger is better."""

    metric: str
    direction: Direction

    def __init__(self, metric: str, direction: Direction | str = Direction.MAXIMIZE) -> None:
        if not isinstance(metric, str) or not metric:
            raise UserError("an objective names a metric", repr(metric), "Give the metric's name.")
        object.__setattr__(self, "metric", metric)
        object.__setattr__(self, "direction", Direction.parse(direction, metric))

    @property
    def maximize(self) -> bool:
        return self.direction is Direction.MAXIMIZE

    def score(self, value: float) -> float:
        """The value on a bigger-is-better scale (minimized metrics are negated)."""
        return value if self.maximize else -value


def make_objectives(
    objective: str | None = None,
    direction: str | Direction = "maximize",
    objectives: Mapping[str, str | Direction] | Sequence[Objective] | None = None,
) -> tuple[Objective, ...]:
    """The Tuner's ``objective=``/``direction=`` or ``objectives=``, as Objectives."""
    if objectives is not None and objective is not None:
        raise UserError(
            "give either objective= (one metric) or objectives= (several), not both",
            f"objective={objective!r} and objectives={objectives!r}",
            "Drop one of them.",
        )
    if objectives is not None:
        if isinstance(objectives, Mapping):
            result = tuple(Objective(m, Direction.parse(d, m)) for m, d in objectives.items())
        else:
            result = tuple(objectives)
        if not result:
            raise UserError(
                "objectives= needs at least one metric", "{}", "Name a metric and its direction."
            )
        return result
    if objective is None:
        raise UserError(
            "a study needs an objective: the metric to optimize",
            "none",
            "Pass objective='validation:accuracy', direction='maximize' "
            "(a metric definition's name).",
        )
    return (Objective(objective, Direction.parse(direction, objective)),)


def check_objectives_are_metrics(
    objectives: Sequence[Objective], metric_names: Sequence[str]
) -> None:
    """Raise unless every objective is one of the job's metric definitions."""
    for obj in objectives:
        if obj.metric not in metric_names:
            close = difflib.get_close_matches(obj.metric, list(metric_names), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise UserError(
                f"the objective {obj.metric!r} must be one of the job's metric definitions",
                f"metric definitions {list(metric_names)}",
                f"Add a metric definition named {obj.metric!r}, or fix the objective.{hint}",
            )


def objective_values(
    objectives: Sequence[Objective], metrics: Mapping[str, float] | None
) -> list[float] | None:
    """The objectives' values from a job's metrics, or None if any is missing or not finite."""
    if metrics is None:
        return None
    values = []
    for obj in objectives:
        value = metrics.get(obj.metric)
        if value is None or not math.isfinite(float(value)):
            return None
        values.append(float(value))
    return values
