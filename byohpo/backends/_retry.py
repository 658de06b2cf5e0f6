"""Calling AWS with retries: full-jitter exponential backoff, and a count of every request.

botocore's own retries are turned off on byohpo's clients (see
:func:`client_config`) so that every request passes here once: it is counted
(the benchmarks report requests per job, throttled ones included) and retried
on our terms. SageMaker throttles bursts of a handful of CreateTrainingJob
calls and about two ListTrainingJobs per second; a long study must ride that
out rather than fail, hence a generous number of attempts.
"""

from __future__ import annotations

import logging
import random
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError, ConnectionError, HTTPClientError

from byohpo._clock import Clock, WallClock
from byohpo.backends._rates import RequestPacer
from byohpo.errors import BackendError, UserError

log = logging.getLogger(__name__)

T = TypeVar("T")

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "ThrottledException",
        "TooManyRequestsException",
        "RequestLimitExceeded",
        "RequestThrottled",
        "RequestThrottledException",
        "SlowDown",
        "ProvisionedThroughputExceededException",
        "PriorRequestNotComplete",
    }
)
TRANSIENT_CODES = frozenset(
    {
        "InternalFailure",
        "InternalError",
        "InternalServerError",
        "InternalServerException",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "RequestTimeout",
        "RequestTimeoutException",
    }
)


def client_config(**overrides: Any) -> Config:
    """botocore settings for byohpo's clients: one attempt per request (retries are ours)."""
    settings: dict[str, Any] = {
        "retries": {"total_max_attempts": 1, "mode": "standard"},
        "connect_timeout": 10,
        "read_timeout": 60,
    }
    settings.update(overrides)
    return Config(**settings)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def is_retryable(exc: BaseException) -> bool:
    """Throttling, a server-side (5xx) error, or a connection problem or timeout."""
    if isinstance(exc, ConnectionError | HTTPClientError):
        return True
    if isinstance(exc, ClientError):
        code = error_code(exc)
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0)
        return code in THROTTLING_CODES or code in TRANSIENT_CODES or status >= 500 or status == 429
    return False


def is_throttling(exc: BaseException) -> bool:
    return isinstance(exc, ClientError) and error_code(exc) in THROTTLING_CODES


@dataclass(frozen=True)
class RetryPolicy:
    """How long to keep trying: ``max_attempts`` tries, sleeping a random time in
    ``[0, min(max_delay, base_delay * 2**retry)]`` between them ("full jitter")."""

    max_attempts: int = 20
    base_delay: float = 0.5
    max_delay: float = 30.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.base_delay < 0 or self.max_delay < 0:
            raise UserError(
                "RetryPolicy needs max_attempts >= 1 and delays >= 0",
                repr(self),
                "Give at least one attempt and delays of 0 seconds or more.",
            )

    def delay(self, retry: int, rng: random.Random) -> float:
        """Seconds to wait before retry number ``retry`` (0 for the first retry)."""
        return rng.uniform(0.0, min(self.max_delay, self.base_delay * 2.0**retry))


@dataclass
class RetryingCaller:
    """Calls AWS operations with :class:`RetryPolicy`, counting each request sent.

    With a ``pacer``, each attempt first waits for the pacer's token for its
    operation, and a throttling answer tells the pacer to slow that operation
    down (see :mod:`byohpo.backends._rates`).

    Not thread-safe: one caller per backend, used from the tuner's thread.
    """

    policy: RetryPolicy = field(default_factory=RetryPolicy)
    clock: Clock = field(default_factory=WallClock)
    rng: random.Random = field(default_factory=random.Random)
    pacer: RequestPacer | None = None
    calls: Counter[str] = field(default_factory=Counter)
    """Requests sent per operation name (e.g. ``CreateTrainingJob``), retries included."""
    throttled: Counter[str] = field(default_factory=Counter)
    """Requests per operation that were answered with a throttling error."""

    def __call__(self, operation: str, method: Callable[..., T], **kwargs: Any) -> T:
        """``method(**kwargs)``, retried while the error is transient.

        Raises the last ``ClientError`` as it is when it is not transient (the
        caller translates it), and :class:`~byohpo.errors.BackendError` when the
        attempts run out.
        """
        attempt = 0
        while True:
            if self.pacer is not None:
                self.pacer.acquire(operation)
            self.calls[operation] += 1
            try:
                return method(**kwargs)
            except (ClientError, ConnectionError, HTTPClientError) as exc:
                if not is_retryable(exc):
                    raise
                if is_throttling(exc):
                    self.throttled[operation] += 1
                    if self.pacer is not None:
                        self.pacer.throttled(operation)
                attempt += 1
                if attempt >= self.policy.max_attempts:
                    raise BackendError(
                        f"{operation} still failed after {attempt} attempts: {exc}"
                    ) from exc
                wait = self.policy.delay(attempt - 1, self.rng)
                log.debug("%s failed (%s); retry %d in %.2fs", operation, exc, attempt, wait)
                self.clock.sleep(wait)
