"""What a simulated study used: wall-clock, instance time, money, and how full its slots were."""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass

from byohpo.simulator._jobs import SimulatedJob


@dataclass(frozen=True)
class Usage:
    """Totals over a simulation's jobs, up to a moment (jobs still running count until then).

    ``occupied_seconds`` is job-seconds from each job's creation to its end:
    the time it held one of the study's ``max_parallel_jobs`` slots, start-up
    included. The other totals are instance-seconds (a job of ``instance_count``
    instances counts each): ``training_seconds`` in ``Training``;
    ``instance_seconds`` in the phases SageMaker bills (``Downloading`` to the
    end), before any spot discount; ``billed_seconds`` what SageMaker bills
    for them (managed spot's discounted ``BillableTimeInSeconds``);
    ``warm_pool_seconds`` instances kept warm between jobs, billed too.
    """

    jobs: int
    started_at: float
    ended_at: float
    occupied_seconds: float
    training_seconds: float
    instance_seconds: float
    billed_seconds: float
    warm_pool_seconds: float
    warm_starts: int
    interruptions: int
    price_per_hour: float | None
    api_calls: int = 0
    """Requests sent to the account (all studies on it), throttled ones included."""
    throttled_calls: int = 0
    """Requests the account answered with ``ThrottlingException``."""

    @property
    def wall_seconds(self) -> float:
        """From the first job's creation to the last job's end."""
        return max(0.0, self.ended_at - self.started_at)

    @property
    def cost(self) -> float | None:
        """Dollars: billed seconds and warm-pool seconds at the instance's price (None: unknown)."""
        if self.price_per_hour is None:
            return None
        return (self.billed_seconds + self.warm_pool_seconds) / 3600.0 * self.price_per_hour

    def slot_utilization(self, slots: int) -> float:
        """Occupied job-seconds over what ``slots`` parallel jobs could have held meanwhile.

        1.0 is the physical limit: every slot held a job from the first
        creation to the last end.
        """
        capacity = slots * self.wall_seconds
        return self.occupied_seconds / capacity if capacity > 0 else math.nan

    @property
    def training_share(self) -> float:
        """Training instance-seconds over paid ones (billed phases and warm pools, undiscounted)."""
        paid = self.instance_seconds + self.warm_pool_seconds
        return self.training_seconds / paid if paid > 0 else math.nan

    @classmethod
    def of(
        cls,
        jobs: Iterable[SimulatedJob],
        now: float,
        *,
        spot_savings: float,
        price_per_hour: float | None,
        api_calls: int = 0,
        throttled_calls: int = 0,
    ) -> Usage:
        jobs = [job for job in jobs if job.created <= now]
        occupied = training = instance = billed = warm = 0.0
        warm_starts = interruptions = 0
        for job in jobs:
            count = job.settings.instance_count
            end = min(job.end, now)
            occupied += end - job.created
            training += count * job.training_seconds(now)
            seconds = job.billed_seconds(now)
            instance += count * seconds
            discount = spot_savings if job.settings.use_spot else 0.0
            billed += count * seconds * (1.0 - discount)
            warm += count * _warm_pool_seconds(job, now)
            warm_starts += job.warm_start
            interruptions += job.interruptions
        return cls(
            jobs=len(jobs),
            started_at=min((job.created for job in jobs), default=now),
            ended_at=max((min(job.end, now) for job in jobs), default=now),
            occupied_seconds=occupied,
            training_seconds=training,
            instance_seconds=instance,
            billed_seconds=billed,
            warm_pool_seconds=warm,
            warm_starts=warm_starts,
            interruptions=interruptions,
            price_per_hour=price_per_hour,
            api_calls=api_calls,
            throttled_calls=throttled_calls,
        )


def _warm_pool_seconds(job: SimulatedJob, now: float) -> float:
    """Seconds the instance a job left was kept warm (until taken over, released, or now)."""
    keep_alive = job.settings.keep_alive_seconds
    if not keep_alive or job.training_start is None or job.end >= now:
        return 0.0
    until = job.end + keep_alive
    if job.pool_taken_at is not None:
        until = job.pool_taken_at
    return max(0.0, min(until, now) - job.end)
