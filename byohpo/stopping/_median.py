"""SageMaker's median stopping rule (``TrainingJobEarlyStoppingType="Auto"``).

SageMaker documents it as: after each epoch, take the objective metric's
value; compute the running average of the objective for every previous
training job up to the same epoch, then the median of those running
averages; if the current job's value is worse than that median, stop the
current job. A study that used the built-in tuner's early stopping gets the
same behaviour here, with any strategy.

As in SageMaker (and in Google Vizier's median rule it follows) the
current job is judged by the best value it reached so far, so one noisy
epoch does not stop it.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from byohpo.stopping._base import CONTINUE, CurvePoint, Decision, positive_int


@dataclass
class _Curve:
    values: list[float] = field(default_factory=list)
    sums: list[float] = field(default_factory=list)  # running sums, for running averages
    best: float | None = None


class MedianRule:
    """Stop a job whose best value so far is worse than the median of the other jobs'
    running averages at the same point.

    ``grace_period``: points a job reports before it can be stopped.
    ``min_trials``: other jobs that must have reached the same point first.
    Not thread-safe; one rule per study.
    """

    name = "median"

    def __init__(self, *, grace_period: int = 1, min_trials: int = 3) -> None:
        self.grace_period = positive_int(self.name, "grace_period", grace_period)
        self.min_trials = positive_int(self.name, "min_trials", min_trials)
        self._curves: dict[int, _Curve] = {}

    @property
    def options(self) -> dict[str, Any]:
        return {"grace_period": self.grace_period, "min_trials": self.min_trials}

    def decide(self, point: CurvePoint) -> Decision:
        curve = self._curves.setdefault(point.trial_id, _Curve())
        if point.point <= len(curve.values):
            return CONTINUE  # a point seen before (replay): already judged
        # A job that skipped points (several values in one log line) repeats its last value.
        while len(curve.values) < point.point:
            curve.values.append(point.value)
            curve.sums.append((curve.sums[-1] if curve.sums else 0.0) + point.value)
        if curve.best is None or point.better(point.value, curve.best):
            curve.best = point.value
        if point.point < self.grace_period:
            return CONTINUE
        at = point.point - 1
        averages = [
            other.sums[at] / (at + 1)
            for tid, other in self._curves.items()
            if tid != point.trial_id and len(other.sums) > at
        ]
        if len(averages) < self.min_trials:
            return CONTINUE
        median = statistics.median(averages)
        if point.better(median, curve.best):
            return Decision.stop_now(
                f"best value {curve.best:.6g} by point {point.point} is worse than the median "
                f"{median:.6g} of {len(averages)} other jobs' running averages there"
            )
        return CONTINUE
