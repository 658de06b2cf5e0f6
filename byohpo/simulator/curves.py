"""A simulated job that reports a learning curve: metrics after every epoch.

``byohpo.Simulator(curve, epochs=..., duration=...)`` builds a
:class:`CurveProblem`: ``curve(hyperparameters, epoch)`` returns the metrics
the script prints after that epoch (1-based), ``epochs`` is how many epochs a
job trains (a number, or a function of the hyperparameters), and
``duration`` the whole job's training time (seconds, or a function),
spread evenly over its epochs. A job stopped early is billed up to its stop
plus SageMaker's stop delay, and reports the values of the epochs it ended.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from byohpo.errors import UserError
from byohpo.simulator.problems import (
    DurationFn,
    JobContext,
    Outcome,
    check_seconds,
    check_sigma,
    lognormal_factor,
)

CurveFn = Callable[[Mapping[str, Any], int], Mapping[str, float]]
"""The hyperparameters and an epoch (from 1) to the metrics printed after that epoch."""
EpochsFn = Callable[[Mapping[str, Any]], int]


def _check_epochs(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise UserError(
            "a simulated job's epochs is a whole number >= 1",
            repr(value),
            "Give the number of epochs (or a function of the hyperparameters returning it).",
        )
    return value


class CurveProblem:
    """Learning curves from a function of the hyperparameters and the epoch."""

    def __init__(
        self,
        curve: CurveFn,
        *,
        epochs: int | EpochsFn,
        duration: float | DurationFn = 600.0,
        duration_sigma: float = 0.0,
    ) -> None:
        if not callable(curve):
            raise UserError(
                "a curve is a function of (hyperparameters, epoch) returning metrics",
                repr(curve),
                "Pass e.g. lambda hp, epoch: {'validation:accuracy': 1 - 0.5 / epoch}.",
            )
        if not callable(epochs):
            _check_epochs(epochs)
        if not callable(duration):
            check_seconds(duration)
        self.curve = curve
        self.epochs = epochs
        self.duration = duration
        self.duration_sigma = check_sigma(duration_sigma)

    def run(self, job: JobContext) -> Outcome:
        hp = job.hyperparameters
        epochs = _check_epochs(self.epochs(hp) if callable(self.epochs) else self.epochs)
        median = self.duration(hp) if callable(self.duration) else self.duration
        seconds = check_seconds(median) * lognormal_factor(job.rng, self.duration_sigma)
        curves: dict[str, list[tuple[float, float]]] = {}
        for epoch in range(1, epochs + 1):
            try:
                metrics = self.curve(hp, epoch)
            except Exception as exc:  # the script crashed in this epoch: the job fails there
                return Outcome(
                    seconds * epoch / epochs,
                    curves=curves,
                    failure_reason=f"AlgorithmError: {type(exc).__name__}: {exc}",
                )
            at = seconds * epoch / epochs
            for name, value in metrics.items():
                curves.setdefault(name, []).append((at, float(value)))
        return Outcome(seconds, curves=curves)
