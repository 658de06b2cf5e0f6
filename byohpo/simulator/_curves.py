"""A simulated job that reports a learning curve: metrics after every epoch.

``byohpo.Simulator(curve, epochs=..., duration=...)`` builds a
:class:`CurveProblem`: ``curve(hyperparameters, epoch)`` returns the metrics
the script prints after that epoch (1-based), ``epochs`` is how many epochs a
job trains (a number, or a function of the hyperparameters), and
``duration`` the whole job's training time (seconds, or a function),
spread evenly over its epochs. A job stopped early is billed up to its stop
plus SageMaker's stop delay, and reports the values of the epochs it ended.

With ``checkpoint_s3_uri`` a job saves a checkpoint after every epoch; a job
started from a copy of one (a promotion in ASHA's promotion form, a warm
start) trains only the epochs after it, continuing the curve at the epoch
reached, and is billed for those epochs (plus its start-up).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from byohpo.errors import UserError
from byohpo.simulator._problems import (
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


@dataclass(frozen=True)
class EpochCheckpoint:
    """What a curve job leaves in its checkpoint location: the epoch it started from and when
    (seconds into its training) each later epoch was saved."""

    start: int
    saved_at: tuple[float, ...]

    def reached(self, progress: float) -> int:
        """The last epoch saved by ``progress`` seconds of training (what a copy finds)."""
        return self.start + sum(1 for at in self.saved_at if at <= progress + 1e-6)


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
        start = job.checkpoint if isinstance(job.checkpoint, int) else 0
        start = min(max(start, 0), epochs)
        curves: dict[str, list[tuple[float, float]]] = {}
        for epoch in range(start + 1, epochs + 1):
            at = seconds * (epoch - start) / epochs
            try:
                metrics = self.curve(hp, epoch)
            except Exception as exc:  # the script crashed in this epoch: the job fails there
                return Outcome(
                    at, curves=curves, failure_reason=f"AlgorithmError: {type(exc).__name__}: {exc}"
                )
            for name, value in metrics.items():
                curves.setdefault(name, []).append((at, float(value)))
        saved = tuple(seconds * k / epochs for k in range(1, epochs - start + 1))
        return Outcome(
            seconds * (epochs - start) / epochs,
            curves=curves,
            checkpoint=EpochCheckpoint(start, saved) if job.checkpoint_s3_uri else None,
        )
