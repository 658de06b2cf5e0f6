"""What a simulated training job does: how long it trains and which metrics it reports.

A :class:`Problem` stands in for the training script. The simulator calls
:meth:`Problem.run` once per job, when the job is created, with a
:class:`JobContext` (the hyperparameters as the script would receive them,
the checkpoint it would find, its own random numbers) and gets an
:class:`Outcome` back. Anything with such a ``run`` method will do; two are
ready-made:

- :class:`FunctionProblem`: metrics from a function of the hyperparameters,
  duration from a number or a function, with log-normal noise;
- :class:`TableProblem`: metrics and durations looked up in a table of real
  runs, interpolated between its rows (see ``byohpo/simulator/_table.py``).

A problem whose result depends on a job's history (population based
training: a job continues a parent's checkpoint) reads ``job.checkpoint``
and leaves its own state in :attr:`Outcome.checkpoint`; the simulator keeps
checkpoints per S3 location, as SageMaker syncs ``/opt/ml/checkpoints``.
"""

from __future__ import annotations

import json
import math
import random
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from byohpo.errors import UserError

MetricsFn = Callable[[Mapping[str, Any]], Mapping[str, float]]
"""The hyperparameters (decoded as the script sees them) to the job's final metrics."""
DurationFn = Callable[[Mapping[str, Any]], float]
"""The hyperparameters to the job's median training seconds."""


@dataclass(frozen=True)
class JobContext:
    """What a simulated job knows when it starts: what its training script would see."""

    job_name: str
    trial_id: int | None
    hyperparameters: Mapping[str, Any]
    """Every hyperparameter the script receives (static and tuned), each JSON-decoded when it
    is JSON, as SageMaker's training toolkit passes them."""
    checkpoint: Any
    """The state the last job that used this checkpoint location left there, or None
    (no ``checkpoint_s3_uri``, or nothing saved there yet)."""
    checkpoint_s3_uri: str | None
    instance_type: str
    instance_count: int
    rng: random.Random
    """This job's own random numbers: the same for the same seed and trial."""


@dataclass(frozen=True)
class Outcome:
    """What a simulated job does.

    ``curves`` are ``(seconds into training, value)`` points per metric, as
    the job would log them; a metric missing from ``metrics`` takes its
    curve's last value (SageMaker's final metric is the last value logged).
    A job with a ``failure_reason`` fails once it has trained for
    ``training_seconds``. ``checkpoint`` (when not None) is what the job
    leaves in its checkpoint location for the next job that uses it.
    """

    training_seconds: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    curves: Mapping[str, Sequence[tuple[float, float]]] = field(default_factory=dict)
    failure_reason: str | None = None
    checkpoint: Any = None

    def __post_init__(self) -> None:
        seconds = self.training_seconds
        if isinstance(seconds, bool) or not isinstance(seconds, int | float):
            raise UserError(
                "a simulated job's training_seconds must be a number",
                repr(seconds),
                "Return a number of seconds.",
            )
        if not math.isfinite(seconds) or seconds < 0:
            raise UserError(
                "a simulated job's training_seconds must be finite and >= 0",
                repr(seconds),
                "Return how long the job trains, in seconds.",
            )
        final = dict(self.metrics)
        for name, points in self.curves.items():
            if name not in final and points:
                final[name] = float(points[-1][1])
        object.__setattr__(self, "metrics", final)

    def metrics_until(self, progress: float) -> dict[str, float]:
        """The last value of each curve logged by ``progress`` seconds into training."""
        if progress >= self.training_seconds:
            return dict(self.metrics) if self.failure_reason is None else self._logged(progress)
        return self._logged(progress)

    def _logged(self, progress: float) -> dict[str, float]:
        values: dict[str, float] = {}
        for name, points in self.curves.items():
            for offset, value in points:
                if offset > progress:
                    break
                values[name] = float(value)
        return values


@runtime_checkable
class Problem(Protocol):
    """Stands in for a training script in the simulator."""

    def run(self, job: JobContext) -> Outcome:
        """What the job does. Called once per job, when it is created."""
        ...


def script_hyperparameters(hyperparameters: Mapping[str, str]) -> dict[str, Any]:
    """The hyperparameters as SageMaker's training toolkit hands them to a script: each value
    JSON-decoded when it is JSON (``"0.1"`` is a number, ``"adam"`` stays text), and
    SageMaker's own ``sagemaker_*`` ones left out."""
    decoded: dict[str, Any] = {}
    for name, value in hyperparameters.items():
        if name.startswith("sagemaker_"):
            continue
        try:
            decoded[name] = json.loads(value)
        except (TypeError, ValueError):
            decoded[name] = value
    return decoded


def lognormal_factor(rng: random.Random, sigma: float) -> float:
    """A factor whose median is 1 and whose logarithm has standard deviation ``sigma``."""
    return math.exp(rng.gauss(0.0, sigma)) if sigma > 0 else 1.0


def check_sigma(sigma: object, name: str = "duration_sigma") -> float:
    if isinstance(sigma, bool) or not isinstance(sigma, int | float) or not 0 <= sigma < 5:
        raise UserError(
            f"{name} is the spread of log-normal noise: a number >= 0 and < 5",
            repr(sigma),
            "Use e.g. 0.5 (a job often takes between 0.6 and 1.6 times its median), or 0.",
        )
    return float(sigma)


class FunctionProblem:
    """Metrics from a function of the hyperparameters; duration from a number or a function.

    ``metrics(hyperparameters)`` returns the job's final metrics; if it
    raises, the job fails with the exception's message as its failure reason
    (as a script that crashes). ``duration`` is the median training time in
    seconds, or a function of the hyperparameters giving it; each job's time
    is that times log-normal noise of spread ``duration_sigma`` (0: exact).
    """

    def __init__(
        self,
        metrics: MetricsFn,
        *,
        duration: float | DurationFn = 600.0,
        duration_sigma: float = 0.0,
    ) -> None:
        if not callable(metrics):
            raise UserError(
                "FunctionProblem needs a function from hyperparameters to metrics",
                repr(metrics),
                "Pass e.g. lambda hp: {'validation:accuracy': ...}.",
            )
        if not callable(duration):
            check_seconds(duration)
        self.metrics = metrics
        self.duration = duration
        self.duration_sigma = check_sigma(duration_sigma)

    def run(self, job: JobContext) -> Outcome:
        median = self.duration(job.hyperparameters) if callable(self.duration) else self.duration
        seconds = check_seconds(median) * lognormal_factor(job.rng, self.duration_sigma)
        try:
            metrics = self.metrics(job.hyperparameters)
        except Exception as exc:  # the job's script crashed: the job fails, the study goes on
            return Outcome(seconds, failure_reason=f"AlgorithmError: {type(exc).__name__}: {exc}")
        return Outcome(seconds, {name: float(value) for name, value in metrics.items()})


def check_seconds(value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float) or not value >= 0:
        raise UserError(
            "a simulated job's duration is a number of seconds >= 0",
            repr(value),
            "Give the median training time in seconds (or a function returning it).",
        )
    return float(value)
