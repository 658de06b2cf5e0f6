"""When the loop polls again, and when a job's billed time began.

One :class:`Pacing` object per study decides the poll interval (request rates
are the backend's :class:`~byohpo.backends._rates.RequestPacer`); :func:`study_pacing`
makes it from the study's settings and what its backend declares. It learns how
long jobs take, from launch to end, from the jobs already ended, and polls
again when the ends expected meanwhile would be noticed a few seconds late in
all: a job whose length is known is polled about once near its end, many jobs
or widely spread ones more often. Ages are measured on the clock's monotonic
time, so a step of the system clock backwards cannot stall polling.
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Collection

import numpy as np

from byohpo._clock import Clock, monotonic_time
from byohpo.backends._base import LimitsPolling
from byohpo.trial import JobState, JobStatus

MAX_POLL_INTERVAL = 300.0
"""The longest wait between two polls (seconds)."""

TAIL = 1.5
"""A job may run up to this many times the longest duration seen (then it is overdue)."""

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
    """The most recent job durations, kept sorted, and the spans a new job's end may fall in.

    Durations seen are taken as exchangeable: a new job's falls in each of the spans
    between two neighbouring ones (from 0 to the shortest, and from the longest to
    :data:`TAIL` times it) with equal probability, uniformly within the span. A job
    ending a little sooner or later than every one seen so far is then no surprise, and
    few durations seen tell little.
    """

    def __init__(self, keep: int) -> None:
        self._keep = keep
        self._recent: list[float] = []
        self._sorted: list[float] = []
        self._spans: tuple[np.ndarray, np.ndarray] | None = None

    def add(self, seconds: float) -> None:
        seconds = max(0.0, seconds)
        self._recent.append(seconds)
        bisect.insort(self._sorted, seconds)
        if len(self._recent) > self._keep:
            oldest = self._recent.pop(0)
            del self._sorted[bisect.bisect_left(self._sorted, oldest)]
        self._spans = None

    def spans(self, age: float) -> tuple[np.ndarray, np.ndarray, np.ndarray] | None:
        """Where a job now ``age`` seconds old may end, counted from now: starts, ends and
        probabilities of the spans (None when it has outlived them all)."""
        if not self._sorted:
            return None
        if self._spans is None:
            seen = np.asarray(self._sorted, dtype=float)
            self._spans = (np.concatenate([[0.0], seen]), np.concatenate([seen, [TAIL * seen[-1]]]))
        starts, ends = self._spans
        first = int(np.searchsorted(ends, age, side="right"))
        if first == len(ends):
            return None
        starts, ends = np.maximum(starts[first:], age), ends[first:]
        full = self._spans[1][first:] - self._spans[0][first:]
        mass = np.where(full > 0, (ends - starts) / np.where(full > 0, full, 1.0), 1.0)
        return starts - age, ends - age, mass / mass.sum()

    def longest(self) -> float | None:
        return self._sorted[-1] if self._sorted else None


def _expected_delay(wait: float, starts: np.ndarray, ends: np.ndarray, mass: np.ndarray) -> float:
    """The expected sum of the delays with which ends in these spans are noticed, polling
    after ``wait`` seconds (an end at ``r < wait`` is noticed ``wait - r`` late)."""
    width = ends - starts
    inside = (wait - starts) ** 2 / (2 * np.where(width > 0, width, 1.0))
    after = wait - (starts + ends) / 2
    delays = np.where(wait <= starts, 0.0, np.where(wait >= ends, after, inside))
    return float((mass * delays).sum())


def _wait_for_delay(
    starts: np.ndarray, ends: np.ndarray, mass: np.ndarray, delay: float, longest: float
) -> float:
    """How long to wait so that the ends expected meanwhile are noticed ``delay`` seconds late
    in all (at most ``longest``): the expected delay grows with the wait, solved by halving."""
    if _expected_delay(longest, starts, ends, mass) <= delay:
        return longest
    low, high = 0.0, longest
    while high - low > 0.05:
        middle = (low + high) / 2
        if _expected_delay(middle, starts, ends, mass) <= delay:
            low = middle
        else:
            high = middle
    return low


class Pacing:
    """Poll intervals from the expected remaining time of the jobs in flight.

    A job's age runs from when the loop first had it in flight (its launch). The
    durations of the jobs already ended (the ``keep`` most recent) tell where each
    running job may end: in any span between two of them longer than its age, with
    equal probability (see ``_Durations``). The next poll comes when the ends
    expected meanwhile would be noticed ``delay`` seconds late in all: a job whose
    length is well known is polled about once, as it ends; many jobs, jobs whose
    lengths are spread out, or few lengths seen, are polled more often.

    Before any job has ended, or once a job has outlived every span, it is polled
    every ``age_share`` of its age, divided by the square root of the number of
    jobs in flight (one poll serves them all); a job older than every duration seen
    (overdue) every ``overdue_share`` of the time it is overdue if that is sooner
    (just past the longest seen, it may end any moment). The interval stays
    between the backend's ``minimum`` and ``maximum``; ``fixed`` (the study's
    ``poll_interval``) overrides it all.

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
        age_share: float = 0.1,
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
        spans = []
        age_share = self._age_share / math.sqrt(len(in_flight))  # each poll serves them all
        for tid in in_flight:
            age = now - self._launched.setdefault(tid, now)
            if longest is not None and age >= longest:  # overdue: closely, then less and less
                wait = min(wait, self._overdue_share * (age - longest))
            if (where := self._durations.spans(age)) is not None:
                spans.append(where)
            else:  # nothing ended yet, or it outlived every span: a share of its age
                wait = min(wait, age_share * age)
        if spans and wait > self.minimum:
            starts, ends, mass = (np.concatenate(parts) for parts in zip(*spans, strict=True))
            wait = _wait_for_delay(starts, ends, mass, self._delay, wait)
        return min(self.maximum, max(self.minimum, wait))


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
