"""When the loop polls again, and when a job's billed time began.

One :class:`Pacing` object per study decides the poll interval (request rates
are the backend's :class:`~byohpo.backends._rates.RequestPacer`); :func:`study_pacing`
makes it from the study's settings and what its backend declares. It learns how
long jobs take, from launch to end, from the jobs already ended, and polls
again after a share of the time in which the soonest of the running jobs
could plausibly end: short jobs are noticed within seconds, a job of an hour
costs a handful of polls. Ages are measured on the clock's monotonic time, so
a step of the system clock backwards cannot stall polling.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection

from byohpo._clock import Clock, monotonic_time
from byohpo.backends._base import LimitsPolling
from byohpo.trial import JobState, JobStatus

MAX_POLL_INTERVAL = 300.0
"""The longest wait between two polls (seconds)."""

_BEFORE_TRAINING = frozenset(
    {"Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack"}
)
"""Secondary statuses of a job whose instance is not billed yet."""


def training_start(state: JobState, now: float) -> float | None:
    """When a job's billed time began, as far as this poll tells.

    A DescribeTrainingJob answer has ``TrainingStartTime``; a ListTrainingJobs
    summary (what a poll of a running job returns) has none, so a job first
    seen past its start-up counts as started now, at most one poll late.
    """
    if state.start_time is not None:
        return state.start_time.timestamp()
    secondary = state.secondary_status
    if state.status is JobStatus.IN_PROGRESS and secondary and secondary not in _BEFORE_TRAINING:
        return now
    return None


class _Durations:
    """The most recent job durations, kept sorted."""

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._recent: list[float] = []
        self._sorted: list[float] = []

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._recent.append(seconds)
        bisect.insort(self._sorted, seconds)
        if len(self._recent) > self._keep:
            oldest = self._recent.pop(0)
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]

    def soonest_end(self, age: float, quantile: float) -> float | None:
        """Seconds until a job now ``age`` seconds old ends, at the ``quantile`` of the
        durations longer than ``age`` (None when none seen lasted that long)."""
        longer = bisect.bisect_right(self._sorted, age)
        count = len(self._sorted) - longer
        if count == 0:
            return None
        return self._sorted[longer + int(quantile * (count - 1))] - age

    def longest(self) -> float | None:
        return self._sorted[-1] if self._sorted else None


class Pacing:
    """Poll intervals from the expected remaining time of the jobs in flight.

    A job's age runs from when the loop first had it in flight (its launch).
    For each job, the time until it could end: the ``quantile`` of the
    durations of ended jobs that lasted longer than it has so far, less its
    age. A job older than every one seen is watched more closely the sooner
    after that it is; with nothing learned yet, a job is polled every
    ``age_share`` of its age. The poll interval is ``share`` of the soonest of
    these, between the backend's ``minimum`` and ``maximum``; ``fixed`` (the
    study's ``poll_interval``) overrides it all.

    ``clock`` gives monotonic time (``monotonic``, what ages are measured in;
    ``now`` for clocks without it).
    """

    def __init__(
        self,
        clock: Clock,
        *,
        minimum: float,
        fixed: float | None = None,
        maximum: float = MAX_POLL_INTERVAL,
        share: float = 0.5,
        quantile: float = 0.1,
        age_share: float = 0.1,
        keep: int = 200,
    ) -> None:
        self.clock = clock
        self.minimum = minimum
        self.fixed = fixed
        self.maximum = max(maximum, minimum)
        self._share = share
        self._quantile = quantile
        self._age_share = age_share
        self._launched: dict[int, float] = {}  # trial -> monotonic time first seen in flight
        self._durations = _Durations(keep)

    def ended(self, trial_id: int) -> None:
        """A job ended (noticed now): its duration from launch is learned."""
        launched = self._launched.pop(trial_id, None)
        if launched is not None:
            self._durations.add(monotonic_time(self.clock) - launched)

    def interval(self, in_flight: Collection[int]) -> float:
        """Seconds until the next poll (a job seen here for the first time is launched now)."""
        if self.fixed is not None:
            return max(self.minimum, self.fixed)
        if not in_flight:
            return self.minimum  # nothing to wait for: a launch is due (after no capacity)
        now = monotonic_time(self.clock)
        soonest = self.maximum / self._share
        for tid in in_flight:
            age = now - self._launched.setdefault(tid, now)
            soonest = min(soonest, self._until_end(age))
        return min(self.maximum, max(self.minimum, self._share * soonest))

    def _until_end(self, age: float) -> float:
        remaining = self._durations.soonest_end(age, self._quantile)
        if remaining is not None:
            return remaining
        longest = self._durations.longest()
        if longest is None:
            return self._age_share * age / self._share
        return age - longest  # overdue: watched closely at first, then less and less


DEFAULT_POLL_FLOOR = 5.0
"""The shortest wait between two polls with a backend that declares no limit of its own
(SageMaker's list rate)."""


def study_pacing(
    clock: Clock,
    backend: object,
    *,
    poll_interval: float | None,
    read_interval: float | None = None,
) -> Pacing:
    """The pacing of one study: the study's own ``poll_interval`` if it set one, else learned
    from its jobs; never faster than the backend declares its service allows
    (:class:`~byohpo.backends._base.LimitsPolling`), and, with early stopping, at least every
    ``read_interval`` (a stopping rule sees the curves only as often as the study polls)."""
    minimum = (
        backend.min_poll_interval if isinstance(backend, LimitsPolling) else DEFAULT_POLL_FLOOR
    )
    maximum = MAX_POLL_INTERVAL if read_interval is None else read_interval
    return Pacing(clock, minimum=minimum, fixed=poll_interval, maximum=maximum)
