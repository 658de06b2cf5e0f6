"""How long SageMaker takes around the training itself, and what managed spot does to a job."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from byohpo.errors import UserError
from byohpo.simulator._problems import check_sigma, lognormal_factor


def _check(name: str, value: object, *, low: float = 0.0, high: float = math.inf) -> None:
    ok = isinstance(value, int | float) and not isinstance(value, bool)
    if not ok or not low <= value <= high:  # type: ignore[operator]
        raise UserError(
            f"{name} must be a number in [{low:g}, {high:g}]", repr(value), f"Fix {name}."
        )


@dataclass(frozen=True)
class StartupModel:
    """The time a job spends before and after training, drawn per job.

    A job starts cold (a new instance is provisioned and the image pulled:
    about two minutes) unless the template keeps a warm pool
    (``keep_alive_seconds`` > 0) and an instance a finished job of the same
    configuration left is still free (about 20 seconds). Both are medians of
    log-normal draws of spread ``sigma``. The start-up is split between
    ``Starting`` (not billed) and ``Downloading`` (billed, as from SageMaker's
    ``TrainingStartTime``) by ``download_share``. After training the job
    spends ``upload_seconds`` ``Uploading`` its model; a stopped job spends
    ``stop_seconds`` ``Stopping``.
    """

    cold_seconds: float = 120.0
    warm_seconds: float = 20.0
    sigma: float = 0.25
    download_share: float = 0.25
    upload_seconds: float = 5.0
    stop_seconds: float = 15.0

    def __post_init__(self) -> None:
        for name in ("cold_seconds", "warm_seconds", "upload_seconds", "stop_seconds"):
            _check(name, getattr(self, name))
        _check("download_share", self.download_share, high=1.0)
        check_sigma(self.sigma, "sigma")

    def startup(self, warm: bool, rng: random.Random) -> tuple[float, float]:
        """``(seconds Starting, seconds Downloading)`` of one start."""
        median = self.warm_seconds if warm else self.cold_seconds
        total = median * lognormal_factor(rng, self.sigma)
        return total * (1.0 - self.download_share), total * self.download_share


@dataclass(frozen=True)
class SpotMarket:
    """Managed spot training as the simulator plays it, for jobs with ``use_spot=True``.

    - ``savings``: the share of billable time not billed (SageMaker reports
      the discounted ``BillableTimeInSeconds``; 0.7 is typical);
    - ``capacity_wait_seconds``: median wait for spot capacity before the job
      starts, and again after each interruption (log-normal, spread ``sigma``);
    - ``interruptions_per_hour``: how often a training instance is reclaimed
      (a Poisson rate over training time; 0: never). An interrupted job waits
      for capacity, starts cold again and loses the training since its last
      checkpoint (saved every ``checkpoint_every`` training seconds) if the
      job has a ``checkpoint_s3_uri``, all of it otherwise;
    - a job that has not ended ``max_wait_seconds`` after its creation is
      stopped (``MaxWaitTimeExceeded``), as SageMaker does.
    """

    savings: float = 0.7
    capacity_wait_seconds: float = 30.0
    sigma: float = 0.5
    interruptions_per_hour: float = 0.0
    checkpoint_every: float = 300.0

    def __post_init__(self) -> None:
        _check("savings", self.savings, high=1.0)
        _check("capacity_wait_seconds", self.capacity_wait_seconds)
        _check("interruptions_per_hour", self.interruptions_per_hour)
        _check("checkpoint_every", self.checkpoint_every)
        check_sigma(self.sigma, "sigma")

    def capacity_wait(self, rng: random.Random) -> float:
        return self.capacity_wait_seconds * lognormal_factor(rng, self.sigma)

    def next_interruption(self, rng: random.Random) -> float:
        """Training seconds until the instance is reclaimed (infinite when there are none)."""
        if self.interruptions_per_hour <= 0:
            return math.inf
        return rng.expovariate(self.interruptions_per_hour / 3600.0)

    def lost_work(self, progress: float, checkpoints: bool) -> float:
        """Training seconds lost by an interruption ``progress`` seconds into training."""
        if not checkpoints or self.checkpoint_every <= 0:
            return progress
        return math.fmod(progress, self.checkpoint_every)
