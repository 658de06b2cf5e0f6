"""Request pacing: per-API token buckets at SageMaker's rates, shared by every study in a process.

SageMaker limits each account's request rate per API and region, and answers
``ThrottlingException`` beyond it. A wide study sends bursts (a generation's
CreateTrainingJob calls at once, a DescribeTrainingJob per job when a
generation ends), and several studies in one notebook share the account's
limits. :class:`RequestPacer` spaces requests so they stay under the rates
(a token bucket per API: ``burst`` requests at once, then ``per_second``),
and when AWS throttles anyway (another process uses the same account) it
halves that API's rate and recovers linearly over ``recovery_seconds``.

Why not botocore's ``retries={"mode": "adaptive"}``: its rate limiter is one
bucket per client for all of that client's APIs (CreateTrainingJob and
ListTrainingJobs have very different limits), it starts limiting only after
the first throttle (the burst that caused it has already gone out), it waits
with ``time.sleep`` (no injected or virtual clock, so the simulator could not
measure it), and it is not shared between clients, so two studies in one
process each believe they have the whole account. Its event hooks
(``before-call``, ``needs-retry``) would let a pacer sit inside botocore, but
byohpo already sends every request through one function
(:class:`~byohpo.backends._retry.RetryingCaller`, which counts requests and
retries on its own terms), so the pacer is called from there.

SageMaker does not publish most of these rates. The defaults
(:data:`SAGEMAKER_RATES`) are ListTrainingJobs' documented quota of 2
requests a second (not adjustable), and for the others rates that users'
reports of throttling suggest (CreateTrainingJob throttles at bursts of about
5 to 16); pass your own :class:`RequestRates` where Service Quotas shows
higher ones.
"""

from __future__ import annotations

import math
import threading
from collections import Counter, defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from byohpo._clock import Clock, WallClock, monotonic_time
from byohpo.errors import UserError


@dataclass(frozen=True)
class Rate:
    """``per_second`` requests a second on average, at most ``burst`` at once."""

    per_second: float
    burst: float = 1.0

    def __post_init__(self) -> None:
        if not (self.per_second > 0 and math.isfinite(self.per_second)) or not self.burst >= 1:
            raise UserError(
                "a request rate needs per_second > 0 and burst >= 1",
                f"Rate(per_second={self.per_second!r}, burst={self.burst!r})",
                "For example Rate(per_second=2.0, burst=2).",
            )


@dataclass(frozen=True)
class RequestRates:
    """The rate of each API by operation name; operations not named are not paced."""

    limits: Mapping[str, Rate] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for operation, rate in self.limits.items():
            if not isinstance(rate, Rate):
                raise UserError(
                    "RequestRates.limits must map operation names to Rate values",
                    f"{operation!r}: {rate!r}",
                    f"Write {{{operation!r}: Rate(per_second=1.0, burst=5)}}.",
                )
        object.__setattr__(self, "limits", MappingProxyType(dict(self.limits)))

    def __hash__(self) -> int:
        return hash(tuple(sorted(self.limits.items())))

    def __eq__(self, other: object) -> bool:
        return isinstance(other, RequestRates) and dict(self.limits) == dict(other.limits)

    def get(self, operation: str) -> Rate | None:
        return self.limits.get(operation)

    def replace(self, operation: str, rate: Rate | None) -> RequestRates:
        """These rates with one operation's changed (``None``: not paced)."""
        limits = dict(self.limits)
        if rate is None:
            limits.pop(operation, None)
        else:
            limits[operation] = rate
        return RequestRates(limits)


SAGEMAKER_RATES = RequestRates(
    {
        "CreateTrainingJob": Rate(per_second=1.0, burst=5),
        "DescribeTrainingJob": Rate(per_second=4.0, burst=10),
        "ListTrainingJobs": Rate(per_second=2.0, burst=1),
        "StopTrainingJob": Rate(per_second=1.0, burst=5),
        "ListTags": Rate(per_second=4.0, burst=10),
        "GetLogEvents": Rate(per_second=10.0, burst=10),
        "DescribeLogStreams": Rate(per_second=5.0, burst=5),
    }
)
"""The rates byohpo keeps to by default, per account and region (see the module's text)."""

UNPACED = RequestRates({})
"""No pacing at all: for endpoints without SageMaker's limits, such as the fake's."""


class _Bucket:
    """A token bucket that hands out reservations: a request may take a token it must
    wait for (the balance goes negative), so waiting happens outside the lock."""

    def __init__(self, burst: float, now: float) -> None:
        self.tokens = burst
        self.last = now

    def reserve(self, now: float, per_second: float, burst: float) -> float:
        """Take a token; the seconds to wait before using it."""
        self.tokens = min(burst, self.tokens + max(0.0, now - self.last) * per_second)
        self.last = max(self.last, now)
        self.tokens -= 1.0
        return 0.0 if self.tokens >= 0 else -self.tokens / per_second


class RequestPacer:
    """Spaces requests per API at :class:`RequestRates`, slower for a while after a throttle.

    Thread-safe: share one pacer between the backends of every study that uses
    the same account and region (:func:`shared_pacer` does). ``slowdown`` is
    the factor an API's rate is multiplied by at each throttle (down to
    ``min_share`` of its rate); the rate then recovers linearly over
    ``recovery_seconds``. Time is the clock's monotonic time; waits use its
    ``sleep``, so in the simulator they take no real time.
    """

    def __init__(
        self,
        rates: RequestRates = SAGEMAKER_RATES,
        clock: Clock | None = None,
        *,
        slowdown: float = 0.5,
        min_share: float = 1 / 16,
        recovery_seconds: float = 60.0,
    ) -> None:
        if not (0 < slowdown < 1 and 0 < min_share <= 1 and recovery_seconds >= 0):
            raise UserError(
                "a RequestPacer needs 0 < slowdown < 1, 0 < min_share <= 1 and "
                "recovery_seconds >= 0",
                f"slowdown={slowdown!r}, min_share={min_share!r}, "
                f"recovery_seconds={recovery_seconds!r}",
                "Leave them at their defaults unless you know your account's limits.",
            )
        self.rates = rates
        self.clock: Clock = clock or WallClock()
        self._slowdown = slowdown
        self._min_share = min_share
        self._recovery = recovery_seconds
        self._lock = threading.Lock()
        self._buckets: dict[str, _Bucket] = {}
        self._share: dict[str, tuple[float, float]] = {}  # op -> (share after throttle, when)
        self.waited: defaultdict[str, float] = defaultdict(float)
        """Seconds spent waiting for a token, per operation."""
        self.throttles: Counter[str] = Counter()
        """Throttling answers reported, per operation."""

    def share(self, operation: str, now: float | None = None) -> float:
        """The part of its rate an operation may use now (1.0 unless recently throttled)."""
        with self._lock:
            return self._share_at(operation, monotonic_time(self.clock) if now is None else now)

    def _share_at(self, operation: str, now: float) -> float:
        low, since = self._share.get(operation, (1.0, 0.0))
        if low >= 1.0:
            return 1.0
        if self._recovery <= 0:
            return 1.0
        recovered = min(1.0, max(0.0, now - since) / self._recovery)
        return low + (1.0 - low) * recovered

    def acquire(self, operation: str) -> float:
        """Wait until ``operation`` may be sent; the seconds waited."""
        rate = self.rates.get(operation)
        if rate is None:
            return 0.0
        with self._lock:
            now = monotonic_time(self.clock)
            bucket = self._buckets.get(operation)
            if bucket is None:
                bucket = self._buckets[operation] = _Bucket(rate.burst, now)
            share = self._share_at(operation, now)
            burst = max(1.0, rate.burst * share)
            wait = bucket.reserve(now, rate.per_second * share, burst)
            self.waited[operation] += wait
        if wait > 0:
            self.clock.sleep(wait)
        return wait

    def throttled(self, operation: str) -> None:
        """AWS throttled ``operation``: slow it down, and spend the tokens it had saved."""
        with self._lock:
            self.throttles[operation] += 1
            if self.rates.get(operation) is None:
                return
            now = monotonic_time(self.clock)
            share = max(self._min_share, self._share_at(operation, now) * self._slowdown)
            self._share[operation] = (share, now)
            bucket = self._buckets.get(operation)
            if bucket is not None:
                bucket.tokens = min(bucket.tokens, 0.0)
                bucket.last = max(bucket.last, now)


_SHARED: dict[tuple[str, RequestRates], RequestPacer] = {}
_SHARED_LOCK = threading.Lock()


def shared_pacer(region: str, rates: RequestRates = SAGEMAKER_RATES) -> RequestPacer:
    """The process's pacer for one account region (on the wall clock): every study in the
    process that talks to that region with these rates shares it, as they share the
    account's limits."""
    with _SHARED_LOCK:
        pacer = _SHARED.get((region, rates))
        if pacer is None:
            pacer = _SHARED[(region, rates)] = RequestPacer(rates)
        return pacer
