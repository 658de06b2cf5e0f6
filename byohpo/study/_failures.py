"""The failure policy: which failed jobs are worth another try, and when to stop a study.

A job that fails for SageMaker's own reasons (an internal error, no capacity) is
retried, up to the study's ``max_retries``. When most of a generation (in
asynchronous mode: the last slots' worth of jobs) failed the same way, the study
stops before it spends more: the training script or the job is broken.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Sequence

from byohpo.errors import StudyStopped
from byohpo.study._state import TrialRecord
from byohpo.trial import JobStatus

RETRYABLE_FAILURE = re.compile(
    r"InternalServerError|CapacityError|InsufficientCapacity|capacity", re.I
)
"""Failures SageMaker marks as its own (internal) or as missing capacity: worth one more try."""


def failure_kind(reason: str | None) -> str:
    """A failure reason with numbers and quoted names blurred, to group failures of one cause."""
    first = (reason or "unknown").strip().splitlines()[0] if (reason or "").strip() else "unknown"
    return re.sub(r"\d+(\.\d+)?", "N", first)[:200]


def retryable(status: JobStatus, reason: str | None) -> bool:
    """A failure SageMaker marks as its own."""
    return status is JobStatus.FAILED and bool(RETRYABLE_FAILURE.search(reason or ""))


def check_failures(members: Sequence[TrialRecord], generation: int, study_name: str) -> None:
    """Raise :class:`StudyStopped` when most of ``members`` failed the same way."""
    if len(members) < 2:
        return
    failed = [t for t in members if t.has_result and t.status == JobStatus.FAILED.value]
    if len(failed) < 2:
        return
    kind, count = Counter(failure_kind(t.failure_reason) for t in failed).most_common(1)[0]
    if count * 2 > len(members):
        example = next(t for t in failed if failure_kind(t.failure_reason) == kind)
        raise StudyStopped(
            f"{count} of the {len(members)} jobs of generation {generation} failed the same "
            f"way, so the study stopped before spending more. First failure "
            f"({example.job_name}): {example.failure_reason}. Fix the training script, then "
            f"`byohpo resume {study_name}` goes on with the fixed code (the failed jobs stay on "
            "record); or run the study file again as a new study with "
            "`byohpo run STUDY.toml --name NEW`."
        )
