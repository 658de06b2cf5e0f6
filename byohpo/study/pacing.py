"""When the loop polls again, and when a job's billed time began."""

from __future__ import annotations

from collections.abc import Collection, Mapping

from byohpo.trial import JobState, JobStatus

MAX_POLL_INTERVAL = 60.0

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


def poll_interval(
    now: float,
    in_flight: Collection[int],
    started: Mapping[int, float],
    minimum: float,
    fixed: float | None,
) -> float:
    """Short while jobs are starting, longer for long jobs, never under the API's limit."""
    base = max(minimum, fixed or 0.0)
    if fixed is not None:
        return base
    ages = [now - started[tid] for tid in in_flight if tid in started]
    if not ages or len(ages) < len(in_flight):
        return base
    ages.sort()
    # A slot whose job ended waits half an interval, on average, to be refilled (or for the
    # next generation): polling every 1% of the jobs' typical age keeps that near 0.5% of
    # the slot's time (measured on the simulator, see docs/benchmarks.md).
    return min(MAX_POLL_INTERVAL, max(base, 0.01 * ages[len(ages) // 2]))
