"""The study's budgets and running totals: jobs finished and failed, dollars, the best value."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from byohpo._pricing import job_cost, price_per_hour
from byohpo.objectives import Objective
from byohpo.study._state import TrialRecord
from byohpo.trial import JobStatus


@dataclass(frozen=True)
class Budget:
    max_jobs: int
    max_parallel_jobs: int
    max_runtime: float | None = None
    max_cost: float | None = None
    max_retries: int = 2

    def reached(self, elapsed: float, spent: float | None) -> str | None:
        """Why the time or money budget ends the study now, or None."""
        if self.max_runtime is not None and elapsed >= self.max_runtime:
            return f"max_runtime reached ({elapsed:.0f} s of {self.max_runtime:.0f} s)"
        if self.max_cost is not None and spent is not None and spent >= self.max_cost:
            return f"max_cost reached (${spent:.2f} of ${self.max_cost:.2f})"
        return None


class Tally:
    """Running totals of the finished jobs, kept as results come in (cheap at any size)."""

    def __init__(
        self,
        objective: Objective,
        instance_type: str | None,
        instance_count: int,
        region: str | None,
        prices: Mapping[str, float] | None,
    ) -> None:
        self.objective = objective
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.region = region
        self.prices = prices
        self.finished = 0
        self.failed = 0
        self.finished_cost = 0.0
        self.best: float | None = None
        self.recent: list[int] = []  # trials with a job, in result order (async failure window)

    def account(self, t: TrialRecord) -> None:
        """Add a finished job."""
        self.finished += 1
        self.recent.append(t.trial_id)
        if t.status == JobStatus.FAILED.value:
            self.failed += 1
        cost = job_cost(
            t.billable_seconds, self.instance_type, self.instance_count, self.region, self.prices
        )
        self.finished_cost += cost or 0.0
        obj = self.objective
        value = t.metrics.get(obj.metric) if t.failure_reason is None else None
        better = self.best is None or (
            value is not None and (value > self.best if obj.maximize else value < self.best)
        )
        if t.status == JobStatus.COMPLETED.value and value is not None and better:
            self.best = value

    def spent(self, now: float, running_since: Iterable[float]) -> float | None:
        """Dollars billed so far, with the running jobs (started at ``running_since``) to now."""
        if self.instance_type is None:
            return None
        price = price_per_hour(self.instance_type, self.region, self.prices)
        if price is None:
            return None
        running = sum(now - started for started in running_since)
        return self.finished_cost + max(0.0, running) / 3600.0 * price * self.instance_count
