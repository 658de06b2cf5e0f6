"""Faults the fake SageMaker can inject: throttling, capacity errors, failing and slow jobs.

Everything is off by default and seeded, so a test that turns a fault on sees the same
calls throttled and the same jobs failing on every run.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from types import MappingProxyType

from byohpo.errors import UserError


class FailureKind(StrEnum):
    """How an injected job failure shows up, each as SageMaker reports it."""

    INTERNAL = "InternalServerError"
    """SageMaker's own failure while the job trains; the script's work is lost."""
    CAPACITY = "CapacityError"
    """No instance could be provisioned; the job fails while ``Starting``, nothing is billed."""
    ALGORITHM = "AlgorithmError"
    """The training container exits with an error after training."""

    @property
    def failure_reason(self) -> str:
        return _FAILURE_REASONS[self]


_FAILURE_REASONS = {
    FailureKind.INTERNAL: (
        "InternalServerError: We encountered an internal error. Please try again."
    ),
    FailureKind.CAPACITY: (
        "CapacityError: Unable to provision requested ML compute capacity. "
        "Please retry using a different ML instance type."
    ),
    FailureKind.ALGORITHM: (
        "AlgorithmError: ExecuteUserScriptError:\nExitCode 1\n"
        'ErrorMessage "RuntimeError: fault injected by the fake SageMaker"'
    ),
}

_NO_LIMITS: Mapping[str, float] = MappingProxyType({})


def _check_rate(name: str, value: float) -> None:
    if not 0.0 <= value <= 1.0:
        raise UserError(
            f"Faults.{name} must be a fraction between 0 and 1",
            value,
            "Use for example 0.1 for one call (or job) in ten.",
        )


@dataclass(frozen=True)
class Faults:
    """What goes wrong in the fake SageMaker, and how often. All off by default.

    Rates are fractions in ``[0, 1]``. Decisions are drawn from ``seed``: the throttled
    calls follow the order of the calls, and the fate of a job depends only on the seed and
    the job's name, so it does not change with thread timing.
    """

    seed: int = 0
    throttle_rate: float = 0.0
    """Fraction of SageMaker calls answered with ``ThrottlingException`` (HTTP 400)."""
    throttle_operations: frozenset[str] | None = None
    """Operations that may be throttled (e.g. ``{"CreateTrainingJob"}``); ``None``: all."""
    rate_limits: Mapping[str, float] = field(default_factory=lambda: _NO_LIMITS)
    """Calls per second allowed per operation (bursts up to that many), beyond which calls
    are throttled as SageMaker throttles them, e.g. ``{"ListTrainingJobs": 2.0}``."""
    capacity_error_rate: float = 0.0
    """Fraction of CreateTrainingJob calls refused with ``ResourceLimitExceeded``."""
    job_failure_rate: float = 0.0
    """Fraction of jobs that end ``Failed`` whatever their script does."""
    job_failure_kinds: tuple[FailureKind, ...] = tuple(FailureKind)
    """The kinds of failure drawn from (uniformly) for a failing job."""
    slow_start_rate: float = 0.0
    """Fraction of jobs that stay ``Starting`` ``slow_start_seconds`` longer."""
    slow_start_seconds: float = 5.0
    missing_metrics_rate: float = 0.0
    """Fraction of jobs whose metrics never appear (an empty ``FinalMetricDataList``)."""

    def __post_init__(self) -> None:
        for name in (
            "throttle_rate",
            "capacity_error_rate",
            "job_failure_rate",
            "slow_start_rate",
            "missing_metrics_rate",
        ):
            _check_rate(name, getattr(self, name))
        if self.slow_start_seconds < 0:
            raise UserError("Faults.slow_start_seconds must be >= 0", self.slow_start_seconds, None)
        if self.job_failure_rate > 0 and not self.job_failure_kinds:
            raise UserError(
                "Faults.job_failure_kinds must name at least one kind when jobs may fail",
                self.job_failure_kinds,
                "Pass for example (FailureKind.INTERNAL,).",
            )
        for operation, rate in self.rate_limits.items():
            if rate <= 0:
                raise UserError(
                    f"Faults.rate_limits[{operation!r}] must be a positive number of calls "
                    "per second",
                    rate,
                    None,
                )
        object.__setattr__(self, "rate_limits", MappingProxyType(dict(self.rate_limits)))
        if self.throttle_operations is not None:
            object.__setattr__(self, "throttle_operations", frozenset(self.throttle_operations))


@dataclass(frozen=True)
class JobFate:
    """What the faults hold for one job (decided when it is created)."""

    failure: FailureKind | None = None
    extra_start_seconds: float = 0.0
    metrics_missing: bool = False


class _TokenBucket:
    def __init__(self, rate: float, clock: Callable[[], float]) -> None:
        self._rate = rate
        self._capacity = max(1.0, rate)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now
        if self._tokens >= 1.0:
            self._tokens -= 1.0
            return True
        return False


class FaultInjector:
    """Draws the faults of :class:`Faults`. Thread-safe."""

    def __init__(self, faults: Faults, clock: Callable[[], float] = time.monotonic) -> None:
        self.faults = faults
        self._lock = threading.Lock()
        self._calls = random.Random(f"{faults.seed}/calls")
        self._creates = random.Random(f"{faults.seed}/capacity")
        self._buckets = {op: _TokenBucket(rate, clock) for op, rate in faults.rate_limits.items()}

    def throttle(self, operation: str) -> bool:
        """Whether this call is throttled (by the rate or by the operation's rate limit)."""
        faults = self.faults
        with self._lock:
            bucket = self._buckets.get(operation)
            if bucket is not None and not bucket.take():
                return True
            if faults.throttle_rate <= 0 or not _applies(operation, faults.throttle_operations):
                return False
            return self._calls.random() < faults.throttle_rate

    def capacity_error(self) -> bool:
        """Whether this CreateTrainingJob is refused for lack of capacity."""
        if self.faults.capacity_error_rate <= 0:
            return False
        with self._lock:
            return self._creates.random() < self.faults.capacity_error_rate

    def fate(self, job_name: str) -> JobFate:
        """The job's fate; the same for the same seed and name, whatever else happened."""
        faults = self.faults
        digest = hashlib.sha256(f"{faults.seed}/job/{job_name.lower()}".encode()).digest()
        rng = random.Random(digest)
        # Always draw every number, so enabling one fault does not reshuffle the others.
        fails, kind, slow, missing = rng.random(), rng.random(), rng.random(), rng.random()
        failure = None
        if fails < faults.job_failure_rate:
            kinds = faults.job_failure_kinds
            failure = kinds[min(int(kind * len(kinds)), len(kinds) - 1)]
        return JobFate(
            failure=failure,
            extra_start_seconds=faults.slow_start_seconds if slow < faults.slow_start_rate else 0,
            metrics_missing=missing < faults.missing_metrics_rate,
        )


def _applies(operation: str, operations: Collection[str] | None) -> bool:
    return operations is None or operation in operations
