"""The study loop: ask, launch, poll, tell, until a budget ends it.

The loop writes to the store before it acts (a trial is recorded as asked
before its job is created; a parent's checkpoint is copied and the copy
recorded before the job that starts from it is created; a result is recorded
before the strategy is told), so a crash at any point can be resumed without
launching a job twice or losing a result. It never reads the time itself: the
backend's clock (virtual in the simulator) is injected.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from byohpo.backends.base import ReadsLogs, WaitsForChange
from byohpo.objectives import Objective, objective_values
from byohpo.strategies.suggestion import Suggestion
from byohpo.study.accounting import Budget, Tally
from byohpo.study.checkpoints import CheckpointPolicy, restore_strategy, snapshot_of
from byohpo.study.early_stopping import PROMOTED
from byohpo.study.events import (
    DuplicateAnswered,
    Event,
    ResultRecorded,
    StatusSeen,
    StrategyCheckpoint,
    TrialsAsked,
    TrialsTold,
)
from byohpo.study.failures import check_failures, failure_kind, retryable
from byohpo.study.launching import Launcher
from byohpo.study.lineage import Lineage, completed
from byohpo.study.metric_check import check_objective_printed
from byohpo.study.pacing import MAX_POLL_INTERVAL, Pacing, training_start
from byohpo.study.progress import Progress, ProgressLine
from byohpo.study.promotion import Promoter
from byohpo.study.state import StudyLog, TrialRecord, apply
from byohpo.study.store import Store
from byohpo.trial import JobState, JobStatus, Mode

if TYPE_CHECKING:
    from byohpo.backends.base import Backend
    from byohpo.clock import Clock
    from byohpo.space import SearchSpace
    from byohpo.strategies.base import Strategy
    from byohpo.study.early_stopping import EarlyStopping


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class StudyLoop(Launcher, Promoter):
    """One run (or resumed run) of a study. Not thread-safe; one loop per study at a time."""

    def __init__(
        self,
        *,
        study_name: str,
        space: SearchSpace,
        strategy: Strategy,
        objectives: tuple[Objective, ...],
        backend: Backend,
        store: Store,
        budget: Budget,
        mode: Mode | str,
        clock: Clock,
        progress: Progress,
        instance_type: str | None,
        instance_count: int,
        region: str | None,
        prices: Mapping[str, float] | None,
        poll_interval: float | None,
        started_at: float,
        early_stopping: EarlyStopping | None = None,
    ) -> None:
        self.study_name = study_name
        self.space = space
        self.strategy = strategy
        self.objectives = objectives
        self.backend = backend
        self.store = store
        self.budget = budget
        self.mode = Mode(mode)
        self.clock = clock
        self.progress = progress
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.region = region
        self.prices = prices
        self.poll_interval = poll_interval
        self.started_at = started_at
        self.early_stopping = early_stopping  # reads curves, stops jobs its rule condemns
        self.pacing = Pacing(  # a stopping rule sees curves only as often as the loop polls
            clock,
            minimum=backend.min_poll_interval,
            fixed=poll_interval,
            maximum=MAX_POLL_INTERVAL
            if early_stopping is None
            else early_stopping.plan.read_interval,
        )

        self.state = StudyLog()
        self.trials: dict[int, TrialRecord] = self.state.trials
        self._checkpoints = CheckpointPolicy()
        self.in_flight: dict[int, str] = {}  # trial id -> job name
        self.waiting: dict[int, int] = {}  # duplicate trial id -> original trial id
        self.unlaunched: list[int] = []  # asked, recorded, not yet created (capacity)
        self.to_tell: list[int] = []
        self.launch_limit = budget.max_parallel_jobs
        self.generation = 0
        self._batch_closed = False  # the tuner's own generations, for strategies without any
        self.lineage = Lineage(self.trials)
        self._seen_status: dict[int, tuple[str, str | None]] = {}
        self._started: dict[int, float] = {}
        self._copied: dict[int, str] = {}  # trial id -> where its parent's checkpoint was copied
        self._members: dict[int, list[int]] = {}  # generation -> trials with a job
        self._jobs = 0  # trials with a job of their own
        self._duplicates = 0
        self._objective_printed = False  # once a job printed it, the check never fires again
        self.tally = Tally(objectives[0], instance_type, instance_count, region, prices)
        self.stop_reason: str | None = None
        self._fresh_from = 0  # failures before a resume were already judged
        self._check_warm_starts(early_stopping is not None and early_stopping.plan.promote)

    # -- the study's memory: write an event, then apply it ---------------------------------
    def _write(self, *events: Event) -> None:
        """Record events (durably), then apply them to the study's state."""
        self._checkpoints.wrote(self.store.record(*events))
        for event in events:
            apply(self.state, event)

    def checkpoint(self, always: bool = False) -> None:
        """Record the strategy's state when the events since the last checkpoint outweigh it."""
        if not (always or self._checkpoints.due()):
            return
        snapshot = snapshot_of(self.strategy)
        if snapshot is None:
            return  # replayed from the start on resume
        size = self.store.record(StrategyCheckpoint(snapshot, time=self.clock.now()))
        apply(self.state, StrategyCheckpoint(snapshot))
        self._checkpoints.checkpointed(size)

    def _told(self, tid: int) -> tuple[Suggestion, dict[str, float] | None]:
        """What the strategy is told of a trial: its configuration, and metrics unless it failed
        (a job a stopping rule ended: the values it reached, and at which point)."""
        record = self.trials[tid]
        told_config = Suggestion(
            record.config, parent=record.parent_id, generation=record.generation, trial_id=tid
        )
        record = self._chain_result(tid)  # ASHA's promotion form: the chain's last job
        metrics = dict(record.metrics) if completed(record) else None
        if metrics is None and self.early_stopping is not None:
            metrics = self.early_stopping.partial_result(record.trial_id, record.metrics)
        return told_config, metrics

    # -- restoring from the log ----------------------------------------------------------
    def adopt(self, log: StudyLog, live_jobs: Mapping[str, JobState]) -> None:
        """Take over a study from its log, reconciled with the jobs SageMaker knows of."""
        self.state = log
        self.trials = log.trials
        self.lineage = Lineage(self.trials)
        restore_strategy(self.strategy, log, self._told)
        if log.launch_limit is not None:
            self.launch_limit = max(1, min(self.budget.max_parallel_jobs, log.launch_limit))
        for tid in sorted(log.trials):  # ids: cheaper to sort than (id, record) pairs
            t = log.trials[tid]
            self._index(t)
            if t.has_result and t.duplicate_of is None:
                self._account(t)
        if self.trials:
            self.generation = max(t.generation for t in self.trials.values())
        answered = []
        for tid in sorted(self.trials):
            t = self.trials[tid]
            if t.has_result:
                continue
            if t.duplicate_of is not None:
                original = self.lineage.latest_retry(t.duplicate_of)
                if self.trials[original].has_result:
                    answered.append((tid, original))  # the answer was not recorded in time
                else:
                    self.waiting[tid] = original
            elif t.job_name and t.job_name in live_jobs:
                self.in_flight[tid] = t.job_name
            elif t.job_name:
                self.unlaunched.append(tid)  # recorded, never created: create it now
        self.to_tell = self._untold(log.result_order, self.lineage.retried_by)
        for duplicate, original in answered:
            self._answer_duplicate(duplicate, original)
        self._batch_closed = not (self.in_flight or self.waiting or self.unlaunched)
        self._fresh_from = len(self.trials)

    def _index(self, t: TrialRecord) -> None:
        """Add a trial (already in the state) to the bookkeeping that keeps each step cheap."""
        if t.duplicate_of is not None:
            self._duplicates += 1
            return
        self._jobs += "promoted" not in t.extra  # a promotion continues a configuration
        self._members.setdefault(t.generation, []).append(t.trial_id)
        self.lineage.add(t)

    def _account(self, t: TrialRecord) -> None:
        """Add a finished job to the running totals."""
        self.tally.account(t)
        if t.status == JobStatus.STOPPED.value:
            self.lineage.forget(t)

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> str:
        """Run until a budget or the strategy ends the study; returns why it ended."""
        while True:
            if self.in_flight:
                self._collect(self.backend.poll(list(self.in_flight.values())))
            if self.early_stopping is not None:
                self.early_stopping.check(self.in_flight, self.trials, self._started)
            self._tell()
            self._check_failures()
            self._objective_printed = self._objective_printed or check_objective_printed(
                self.trials.values(),
                self.objectives,
                getattr(getattr(self.backend, "job", None), "metric_definitions", {}),
                max_jobs=self.budget.max_jobs,
                last_log_lines=self.backend.last_log_lines
                if isinstance(self.backend, ReadsLogs)
                else None,
                stop_jobs=self.stop_all,
            )
            reason = self._budget_reached()
            if reason is None:
                self._launch_promotions()  # ASHA's promotion form: before new configurations
                self._launch()
                reason = self._exhausted()
            self._report()
            if reason is not None and not self.in_flight:
                return reason
            if reason is not None and self.stop_reason is None:
                self.stop_reason = reason
                if reason.startswith(("max_runtime", "max_cost")):
                    self.stop_all()
            self._wait(self._interval())

    def stop_all(self) -> None:
        for job_name in list(self.in_flight.values()):
            self.backend.stop(job_name)

    # -- collecting results ------------------------------------------------------------
    def _collect(self, states: list[JobState]) -> None:
        by_name = {name: tid for tid, name in self.in_flight.items()}
        for state in states:
            tid = by_name.get(state.job_name)
            if tid is None:
                continue
            key = (state.status.value, state.secondary_status)
            if tid not in self._started:
                started = training_start(state, self.clock.now())
                if started is not None:
                    self._started[tid] = started
            if not state.status.is_terminal:
                if self._seen_status.get(tid) != key:
                    self._seen_status[tid] = key
                    self._write(
                        StatusSeen(
                            tid,
                            state.status.value,
                            state.secondary_status,
                            _iso(state.start_time),
                            time=self.clock.now(),
                        )
                    )
                continue
            self._finish(tid, state)

    def _finish(self, tid: int, state: JobState) -> None:
        record = self.trials[tid]
        metrics = {k: float(v) for k, v in state.metrics.items() if math.isfinite(float(v))}
        reason = state.failure_reason
        if (
            state.status is JobStatus.COMPLETED
            and objective_values(self.objectives, metrics) is None
        ):
            missing = [o.metric for o in self.objectives if o.metric not in metrics]
            reason = (
                f"the job completed but never printed the objective metric(s) {missing}: "
                "check the metric definitions' regexes against the training script's output"
            )
        self._write(
            ResultRecorded(
                tid,
                state.status.value,
                metrics,
                reason,
                _iso(state.start_time),
                _iso(state.end_time),
                state.billable_seconds,
                time=self.clock.now(),
            )
        )
        del self.in_flight[tid]
        self.pacing.ended(tid)
        self._account(record)
        if self._should_retry(tid, state):
            self._retry(tid)
        else:
            self.to_tell.extend(self._to_tell_after(tid))  # a paused job's: when its chain ends
        if self.waiting:
            for dup, original in list(self.waiting.items()):
                if original == tid and tid not in self.lineage.retried_by:
                    self._answer_duplicate(dup, tid)
                elif original == tid:
                    self.waiting[dup] = self.lineage.latest_retry(tid)

    def _should_retry(self, tid: int, state: JobState) -> bool:
        if self.stop_reason is not None or not retryable(state.status, state.failure_reason):
            return False
        if self.lineage.retries[self.lineage.origin(tid)] >= self.budget.max_retries:
            return False
        if PROMOTED in self.trials[tid].extra:
            return True  # a promotion continues a configuration: max_jobs does not count it
        return self._jobs < self.budget.max_jobs

    def _retry(self, tid: int) -> None:
        origin = self.trials[tid]
        new = self._new_trial(
            len(self.trials),
            origin.config,
            origin.generation,
            retry_of=tid,
            parent_id=origin.parent_id,
        )
        promoted = origin.extra.get(PROMOTED)
        if isinstance(promoted, dict):  # the same promotion again: same chain, same checkpoint
            new.extra[PROMOTED] = dict(promoted)
        self._write(TrialsAsked((new.spec(),), asked=None, time=self.clock.now()))
        if isinstance(promoted, dict) and self.early_stopping is not None:
            self.early_stopping.promoted(new.trial_id, new.extra[PROMOTED])
        self._index(self.trials[new.trial_id])
        self.progress.say(
            f"trial {tid} failed for a reason SageMaker marks as its own "
            f"({failure_kind(origin.failure_reason)}); retrying it as trial {new.trial_id}"
        )
        self.unlaunched.append(new.trial_id)

    def _answer_duplicate(self, dup: int, original: int) -> None:
        source = self.trials[original]
        self._write(
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

    def _tell(self) -> None:
        if not self.to_tell:
            return
        told = []
        for tid in self.to_tell:
            self.strategy.tell(*self._told(tid))
            told.append(tid)
        self.to_tell = []
        self._write(TrialsTold(tuple(told), time=self.clock.now()))
        self.checkpoint()

    # -- failure policy ------------------------------------------------------------------
    def _check_failures(self) -> None:
        """Stop when most of the current generation (async: the last slots' worth) failed alike."""
        if self.mode is Mode.ASYNC:
            ids = self.tally.recent[-self.budget.max_parallel_jobs :]
        else:
            ids = self._members.get(self.generation, [])
        members = [
            self.trials[i]
            for i in ids
            if i not in self.lineage.retried_by and i >= self._fresh_from
        ]
        try:
            check_failures(members, self.generation, self.study_name)
        except Exception:
            self.stop_all()
            raise

    # -- budgets ---------------------------------------------------------------------------
    def spent(self) -> float | None:
        """Dollars billed so far, with running jobs counted up to now."""
        since = [self._started[tid] for tid in self.in_flight if tid in self._started]
        return self.tally.spent(self.clock.now(), since)

    def _budget_reached(self) -> str | None:
        if self.stop_reason is not None:
            return self.stop_reason
        return self.budget.reached(self.clock.now() - self.started_at, self.spent())

    def _exhausted(self) -> str | None:
        if self.in_flight or self.waiting or self.unlaunched or self.to_tell:
            return None
        if self._release_paused(self.to_tell):
            return None  # paused jobs nothing will promote now: tell the strategy, then go on
        if self._jobs >= self.budget.max_jobs:
            return f"max_jobs reached ({self._jobs} jobs)"
        if self._duplicates >= max(10 * self.budget.max_jobs, 100):
            return (
                f"the strategy repeated configurations already evaluated {self._duplicates} times "
                "(it has converged); no more jobs were worth paying for"
            )
        return "the strategy proposed no more configurations"

    # -- reporting and pacing ---------------------------------------------------------------
    def best(self) -> float | None:
        """The best value of the first objective among completed jobs."""
        return self.tally.best

    def _report(self) -> None:
        self.progress.update(
            ProgressLine(
                generation=self.generation,
                running=len(self.in_flight),
                finished=self.tally.finished,
                failed=self.tally.failed,
                best=self.tally.best,
                metric=self.objectives[0].metric,
                elapsed=self.clock.now() - self.started_at,
                cost=self.spent(),
            )
        )

    def _wait(self, seconds: float) -> None:
        """Until the next poll; a backend that hears of ended jobs by events wakes sooner."""
        if isinstance(self.backend, WaitsForChange) and self.clock is self.backend.clock:
            self.backend.wait_for_change(seconds)
        else:
            self.clock.sleep(seconds)

    def _interval(self) -> float:
        return self.pacing.interval(self.in_flight)
