"""When the loop polls again, and when a job's billed time began.

One :class:`Pacing` object per study decides the poll interval (request rates
are the backend's :class:`~byohpo.backends.rates.RequestPacer`). It learns how
long jobs take, from launch to end, from the jobs already ended, and polls
again when the ends expected meanwhile would be noticed a few seconds late in
all: a job whose length is known is polled about once near its end, many jobs
or widely spread ones more often. Ages are measured on the clock's monotonic time, so
a step of the system clock backwards cannot stall polling.
"""

from __future__ import annotations

import bisect
from collections.abc import Collection

import numpy as np

from byohpo.clock import Clock, monotonic_time
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
        self._array: np.ndarray | None = None

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._recent.append(seconds)
        bisect.insort(self._sorted, seconds)
        if len(self._recent) > self._keep:
            oldest = self._recent.pop(0)
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        self._array = None

    def longer_than(self, age: float) -> np.ndarray:
        """The durations seen that are longer than ``age``, sorted."""
        if self._array is None:
            self._array = np.asarray(self._sorted, dtype=float)
        return self._array[bisect.bisect_right(self._sorted, age) :]

    def longest(self) -> float | None:
        return self._sorted[-1] if self._sorted else None


def _wait_for_delay(remaining: list[np.ndarray], delay: float) -> float:
    """How long to wait so that the jobs' ends expected meanwhile are noticed ``delay``
    seconds late in all (the expected sum of their delays when polling at that time).

    ``remaining`` holds, for each job, the times it may still run (equally likely).
    Waiting ``w`` delays each end at ``r < w`` by ``w - r``: the expected sum is a
    piecewise-linear, increasing function of ``w``, solved here exactly.
    """
    times = np.concatenate(remaining)
    weights = np.concatenate([np.full(len(r), 1.0 / len(r)) for r in remaining])
    order = np.argsort(times, kind="stable")
    times, weights = times[order], weights[order]
    mass = np.cumsum(weights)
    moment = np.cumsum(weights * times)
    at_next = mass[:-1] * times[1:] - moment[:-1]  # the expected delay waiting until each next
    k = int(np.searchsorted(at_next, delay)) if len(at_next) else 0
    return float((delay + moment[k]) / mass[k])


class Pacing:
    """Poll intervals from the expected remaining time of the jobs in flight.

    A job's age runs from when the loop first had it in flight (its launch). The
    durations of the jobs already ended (the ``keep`` most recent) tell how much
    longer each running job may run: those longer than its age, less its age,
    equally likely. The next poll comes when the ends expected meanwhile would be
    noticed ``delay`` seconds late in all: a job whose end is well known is polled
    about once, ``delay`` seconds after it could first end; many jobs, or jobs
    whose ends are spread out, are polled more often.

    A job older than every duration seen (overdue), or any job before one has
    ended, follows rules of thumb instead: polled every ``age_share`` of its age,
    and an overdue one every ``overdue_share`` of the time it is overdue if that
    is sooner (just past the longest seen, it may end any moment). The interval
    stays between the backend's ``minimum`` and ``maximum``; ``fixed`` (the
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
        delay: float = 2.0,
        age_share: float = 0.02,
        overdue_share: float = 0.5,
        keep: int = 200,
    ) -> None:
        self.clock = clock
        self.minimum = minimum
        self.fixed = fixed
        self.maximum = max(maximum, minimum)
        self._delay = delay
        self._age_share = age_share
        self._overdue_share = overdue_share
        self._launched: dict[int, float] = {}  # trial -> monotonic time first seen in flight
        self._polled = float("-inf")  # when the loop last asked (just after its last poll)
        self._durations = _Durations(keep)

    def ended(self, trial_id: int) -> None:
        """A job ended (noticed now): its duration from launch is learned."""
        launched = self._launched.pop(trial_id, None)
        if launched is None:
            return
        # It ended after the previous poll (it was running then) and before now: learning
        # the time it was noticed would teach ever later polls, each noticing later still.
        now = monotonic_time(self.clock)
        before = max(launched, min(now, self._polled))
        self._durations.add((before + now) / 2 - launched)

    def interval(self, in_flight: Collection[int]) -> float:
        """Seconds until the next poll (a job seen here for the first time is launched now)."""
        if self.fixed is not None:
            return max(self.minimum, self.fixed)
        if not in_flight:
            return self.minimum  # nothing to wait for: a launch is due (after no capacity)
        now = self._polled = monotonic_time(self.clock)
        longest = self._durations.longest()
        wait = self.maximum
        remaining: list[np.ndarray] = []
        for tid in in_flight:
            age = now - self._launched.setdefault(tid, now)
            longer = self._durations.longer_than(age)
            if len(longer):
                remaining.append(longer - age)
                continue
            wait = min(wait, self._age_share * age)  # nothing known of how long it runs
            if longest is not None:  # overdue: watched closely at first, then less and less
                wait = min(wait, self._overdue_share * (age - longest))
        if remaining and wait > self.minimum:
            wait = min(wait, _wait_for_delay(remaining, self._delay))
        return min(self.maximum, max(self.minimum, wait))
