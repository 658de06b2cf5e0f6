"""What the study loop knows of its trials, written before it acts and indexed to stay cheap.

One :class:`Bookkeeping` per run of a study, shared by the loop and its two collaborators
(:class:`~byohpo.study._launching.Launcher`, :class:`~byohpo.study._promotion.Promoter`):
the study's state as its events built it, and the indexes each step needs (the jobs in
flight, the trials waiting for a duplicate's answer or for a free slot, the results not
told yet). Every change of the state goes through :meth:`Bookkeeping.write`: the events
are recorded (durably) first, then applied, so a crash never loses what was acted on.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

from byohpo.study._checkpoints import CheckpointPolicy, snapshot_of
from byohpo.study._early_stopping import PROMOTED
from byohpo.study._events import DuplicateAnswered, Event, StrategyCheckpoint
from byohpo.study._lineage import Lineage
from byohpo.study._state import StudyLog, TrialRecord, apply
from byohpo.trial import JobState

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.strategies._base import Strategy
    from byohpo.study._accounting import Budget
    from byohpo.study._store import Store


class Bookkeeping:
    """The trials of one run of a study and where each stands. Not thread-safe."""

    def __init__(self, budget: Budget, store: Store, clock: Clock) -> None:
        self.budget = budget
        self.store = store
        self.clock = clock
        self.checkpoints = CheckpointPolicy()
        self.state = StudyLog()
        self.trials: dict[int, TrialRecord] = self.state.trials
        self.lineage = Lineage(self.trials)
        self.in_flight: dict[int, str] = {}  # trial id -> job name
        self.waiting: dict[int, int] = {}  # duplicate trial id -> original trial id
        self.unlaunched: list[int] = []  # asked, recorded, not yet created (capacity)
        self.to_tell: list[int] = []
        self.launch_limit = budget.max_parallel_jobs
        self.generation = 0
        self.batch_closed = False  # the tuner's own generations, for strategies without any
        self.members: dict[int, list[int]] = {}  # generation -> trials with a job
        self.jobs = 0  # trials with a job of their own (a promotion continues one)
        self.duplicates = 0
        self.stop_reason: str | None = None
        self.fresh_from = 0  # failures before a resume were already judged

    def write(self, *events: Event) -> None:
        """Record events (durably), then apply them to the study's state."""
        self.checkpoints.wrote(self.store.record(*events))
        for event in events:
            apply(self.state, event)

    def checkpoint(self, strategy: Strategy, always: bool = False) -> None:
        """Record the strategy's state when the events since the last checkpoint outweigh it
        (``always``: now); a strategy without snapshots is replayed from the start instead."""
        if not (always or self.checkpoints.due()):
            return
        snapshot = snapshot_of(strategy)
        if snapshot is None:
            return
        size = self.store.record(StrategyCheckpoint(snapshot, time=self.clock.now()))
        apply(self.state, StrategyCheckpoint(snapshot))
        self.checkpoints.checkpointed(size)

    def index(self, t: TrialRecord) -> None:
        """Add a trial (already in the state) to the indexes that keep each step cheap."""
        if t.duplicate_of is not None:
            self.duplicates += 1
            return
        self.jobs += PROMOTED not in t.extra
        self.members.setdefault(t.generation, []).append(t.trial_id)
        self.lineage.add(t)

    def free_slots(self) -> int:
        """Jobs that may start now (fewer while SageMaker lacks capacity)."""
        return min(self.budget.max_parallel_jobs, self.launch_limit) - len(self.in_flight)

    def busy(self) -> bool:
        """Whether anything runs, waits for an answer, waits for a slot or waits to be told."""
        return bool(self.in_flight or self.waiting or self.unlaunched or self.to_tell)

    def converged(self) -> bool:
        """The strategy keeps proposing configurations already evaluated."""
        return self.duplicates >= max(10 * self.budget.max_jobs, 100)

    def judged(self, recent: list[int] | None) -> list[TrialRecord]:
        """The trials the failure policy judges now: the ``recent`` ones (async), else the
        current generation's; neither a retried one nor one judged before a resume."""
        ids = self.members.get(self.generation, []) if recent is None else recent
        return [
            self.trials[i] for i in ids if i not in self.lineage.retried_by and i >= self.fresh_from
        ]

    def answer_duplicate(self, dup: int, original: int) -> None:
        """Answer a duplicate from the trial that ran its job (never paid twice)."""
        source = self.trials[original]
        self.write(
            DuplicateAnswered(
                dup,
                source.status,
                dict(source.metrics),
                source.failure_reason,
                None,
                None,
                0,
                time=self.clock.now(),
            )
        )
        self.waiting.pop(dup, None)
        self.to_tell.append(dup)

    def wait_or_answer(self, dup: int, original: int) -> None:
        """A duplicate of ``original``: answered now if its job ended, else when it does."""
        original = self.lineage.latest_retry(original)
        if self.trials[original].has_result:
            self.answer_duplicate(dup, original)
        else:
            self.waiting[dup] = original

    def answer_waiting_for(self, tid: int) -> None:
        """``tid``'s job ended: answer the duplicates that waited for it, or, when it is
        retried, let them wait for its retry."""
        for dup, original in list(self.waiting.items()):
            if original == tid and tid not in self.lineage.retried_by:
                self.answer_duplicate(dup, tid)
            elif original == tid:
                self.waiting[dup] = self.lineage.latest_retry(tid)

    def take_up(self, log: StudyLog, live_jobs: Mapping[str, JobState]) -> None:
        """Take over a recorded study (reconciled with the jobs SageMaker knows of): the
        jobs still running are in flight again, the recorded ones never created are launched,
        duplicates are answered or wait. Indexed trials are added to ``tally`` by the loop."""
        self.state = log
        self.trials = log.trials
        self.lineage = Lineage(self.trials)
        if log.launch_limit is not None:
            self.launch_limit = max(1, min(self.budget.max_parallel_jobs, log.launch_limit))
        for tid in sorted(log.trials):  # ids: cheaper to sort than (id, record) pairs
            self.index(log.trials[tid])
        if self.trials:
            self.generation = max(t.generation for t in self.trials.values())
        for tid in sorted(self.trials):
            t = self.trials[tid]
            if t.has_result or t.duplicate_of is not None:
                continue
            if t.job_name and t.job_name in live_jobs:
                self.in_flight[tid] = t.job_name
            elif t.job_name:
                self.unlaunched.append(tid)  # recorded, never created: create it now

    def answer_waiting(self) -> None:
        """On resume, after the untold results are lined up: answer the duplicates whose
        original ended (the answer was not recorded in time); the others wait."""
        for tid in sorted(self.trials):
            t = self.trials[tid]
            if not t.has_result and t.duplicate_of is not None:
                self.wait_or_answer(tid, t.duplicate_of)
        self.batch_closed = not (self.in_flight or self.waiting or self.unlaunched)
