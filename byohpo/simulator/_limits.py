"""What the simulated account refuses or delays: throttling, API latency, instance quotas."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType

from byohpo.backends._rates import SAGEMAKER_RATES, RequestRates
from byohpo.errors import UserError


@dataclass(frozen=True)
class AccountLimits:
    """The simulated account's limits.

    - ``rates``: the request rate of each API before SageMaker answers
      ``ThrottlingException`` (a token bucket per API, in virtual time);
      ``None`` never throttles. The default is :data:`SAGEMAKER_RATES`, the
      rates byohpo's pacer keeps to, so a study alone on the account is
      throttled only if its pacing is wrong.
    - ``api_latency``: seconds each request takes (the clock moves on by as much).
    - ``instance_quotas``: instance type -> instances that may train at once
      (SageMaker's "<type> for training job usage" quota); a CreateTrainingJob
      beyond it is refused with ``ResourceLimitExceeded``. Types not named
      have no quota.
    """

    rates: RequestRates | None = SAGEMAKER_RATES
    api_latency: float = 0.0
    instance_quotas: Mapping[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not (math.isfinite(self.api_latency) and self.api_latency >= 0):
            raise UserError(
                "api_latency must be a number of seconds >= 0",
                repr(self.api_latency),
                "For example AccountLimits(api_latency=0.1).",
            )
        for instance_type, quota in self.instance_quotas.items():
            if not isinstance(quota, int) or isinstance(quota, bool) or quota < 0:
                raise UserError(
                    "instance_quotas must map instance types to whole numbers >= 0",
                    f"{instance_type!r}: {quota!r}",
                    "For example {'ml.m5.xlarge': 20}.",
                )
        object.__setattr__(self, "instance_quotas", MappingProxyType(dict(self.instance_quotas)))


class Throttle:
    """SageMaker's side of the rates: a full token bucket per API, refilled in virtual time;
    a request that finds it empty is throttled (and takes no token)."""

    def __init__(self, rates: RequestRates | None) -> None:
        self._rates = rates
        self._tokens: dict[str, tuple[float, float]] = {}  # op -> (tokens, when)

    def allows(self, operation: str, now: float) -> bool:
        rate = self._rates.get(operation) if self._rates is not None else None
        if rate is None:
            return True
        tokens, last = self._tokens.get(operation, (rate.burst, now))
        tokens = min(rate.burst, tokens + max(0.0, now - last) * rate.per_second)
        allowed = tokens >= 1.0 - 1e-9
        self._tokens[operation] = (tokens - 1.0 if allowed else tokens, max(last, now))
        return allowed
