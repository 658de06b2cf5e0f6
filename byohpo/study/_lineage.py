"""How trials relate: which run the same job, which retried which, whose checkpoint is whose.

Two trials run the same job when their hyperparameters and starting checkpoint agree:
the second is answered from the first (``duplicate_of``), never paid for twice. A
failed trial retried for SageMaker's own reasons points to its retry, and a warm-started
trial starts from the checkpoint of the trial whose job really ran for its parent.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Mapping

from byohpo.errors import StrategyError
from byohpo.space import Config, configuration_key
from byohpo.strategies._suggestion import parent_of
from byohpo.study._state import TrialRecord
from byohpo.trial import JobStatus


def completed(record: TrialRecord) -> bool:
    """Completed with every objective: the strategy was (or will be) told its metrics."""
    return record.status == JobStatus.COMPLETED.value and record.failure_reason is None


class Lineage:
    """The relations between the trials of one study, indexed as trials are planned."""

    def __init__(self, trials: Mapping[int, TrialRecord]) -> None:
        self.trials = trials
        self.known: dict[str, int] = {}  # job key -> the trial evaluating it
        self.retried_by: dict[int, int] = {}  # failed trial id -> its retry's id
        self.retries: Counter[int] = Counter()  # original trial id -> retries used

    def add(self, t: TrialRecord) -> None:
        """Index a trial with a job of its own."""
        self.known[self.job_key(t.hyperparameters, t.parent_id)] = t.trial_id
        if t.retry_of is not None:
            self.retried_by[t.retry_of] = t.trial_id
            self.retries[self.origin(t.trial_id)] += 1

    def forget(self, t: TrialRecord) -> None:
        """A job stopped early has no result to reuse."""
        key = self.job_key(t.hyperparameters, t.parent_id)
        if self.known.get(key) == t.trial_id:
            del self.known[key]

    def origin(self, tid: int) -> int:
        """The trial a chain of retries started from."""
        while self.trials[tid].retry_of is not None:
            tid = int(self.trials[tid].retry_of)  # type: ignore[arg-type]
        return tid

    def latest_retry(self, tid: int) -> int:
        """The last retry of a trial (itself when it was not retried)."""
        while tid in self.retried_by:
            tid = self.retried_by[tid]
        return tid

    def job_key(self, hyperparameters: Mapping[str, str], parent: int | None) -> str:
        """Two trials run the same job when their hyperparameters and starting checkpoint agree."""
        key = configuration_key(hyperparameters)
        if parent is None:
            return key
        return f"{key} <- {self.checkpoint_source(parent).trial_id}"

    def checkpoint_source(self, tid: int) -> TrialRecord:
        """The trial whose job ran for ``tid``: itself, or what its duplicate answered from."""
        record = self.trials[tid]
        while record.duplicate_of is not None:
            record = self.trials[self.latest_retry(record.duplicate_of)]
        return record

    def checked_parent(self, config: Config) -> int | None:
        """The parent a suggestion names: a trial that completed (its checkpoint is final)."""
        parent = parent_of(config)
        if parent is None:
            return None
        record = self.trials.get(parent)
        if record is None or not completed(record):
            state = "no such trial" if record is None else f"trial {parent} is {record.status}"
            raise StrategyError(
                "a suggestion's parent must be a trial that completed (only a finished job has "
                "a checkpoint to start from)",
                f"parent={parent} ({state})",
                "Name as parent the trial_id told with a completed result.",
            )
        return parent
