"""The study loop: ask, launch, poll, tell, until a budget ends it.

The loop writes to the store before it acts (a trial is recorded as asked
before its job is created; a parent's checkpoint is copied and the copy
recorded before the job that starts from it is created; a result is recorded
before the strategy is told), so a crash at any point can be resumed without
launching a job twice or losing a result. It never reads the time itself: the
clock (virtual in the simulator) is injected.

It takes the study's frozen :class:`~byohpo.study._specification.StudySpecification`
and the run's collaborators (backend, store, clock, progress stream); launching
(:class:`~byohpo.study._launching.Launcher`) and pausing and promoting jobs
(:class:`~byohpo.study._promotion.Promoter`) are collaborators of its own, sharing
the trials' :class:`~byohpo.study._bookkeeping.Bookkeeping` with it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from byohpo.backends._base import ReadsLogs, WaitsForChange, clock_of
from byohpo.objectives import objective_values
from byohpo.strategies._suggestion import Suggestion
from byohpo.study._accounting import Budget, Tally
from byohpo.study._bookkeeping import Bookkeeping
from byohpo.study._checkpoints import restore_strategy
from byohpo.study._events import (
    ResultRecorded,
    StatusSeen,
    TrialsTold,
)
from byohpo.study._failures import check_failures, failure_kind
from byohpo.study._launching import Launcher
from byohpo.study._lineage import completed
from byohpo.study._metric_check import check_objective_printed
from byohpo.study._pacing import study_pacing, training_start
from byohpo.study._progress import Progress, ProgressLine
from byohpo.study._promotion import Promoter
from byohpo.study._state import StudyLog, TrialRecord
from byohpo.trial import JobState, JobStatus, Mode

if TYPE_CHECKING:
    from byohpo._clock import Clock
    from byohpo.backends._base import Backend
    from byohpo.study._early_stopping import EarlyStopping
    from byohpo.study._specification import StudySpecification
    from byohpo.study._store import Store

__all__ = ["Budget", "StudyLoop"]


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


class StudyLoop:
    """One run (or resumed run) of a study. Not thread-safe; one loop per study at a time."""

    def __init__(
        self,
        spec: StudySpecification,
        *,
        backend: Backend,
        store: Store,
        clock: Clock,
        progress: Progress,
        started_at: float,
        early_stopping: EarlyStopping | None = None,
    ) -> None:
        self.spec = spec
        self.strategy = spec.strategy
        self.budget = spec.budget
        self.backend = backend
        self.store = store
        self.clock = clock
        self.progress = progress
        self.started_at = started_at
        self.early_stopping = early_stopping  # reads curves, stops jobs its rule condemns
        self.pacing = study_pacing(
            clock,
            backend,
            poll_interval=spec.poll_interval,
            read_interval=None if early_stopping is None else early_stopping.plan.read_interval,
        )
        self.book = Bookkeeping(spec.budget, store, clock)
        self.launcher = Launcher(
            spec,
            self.book,
            backend=backend,
            clock=clock,
            progress=progress,
            promotes=early_stopping is not None and early_stopping.plan.promote,
        )
        self.promoter = Promoter(
            self.book, self.launcher, early_stopping, clock=clock, progress=progress
        )
        self._seen_status: dict[int, tuple[str, str | None]] = {}
        self._started: dict[int, float] = {}
        self._objective_printed = False  # once a job printed it, the check never fires again
        job = spec.job
        region = getattr(backend, "region", None)
        self.tally = Tally(
            spec.objectives[0], job.instance_type, job.instance_count, region, spec.prices
        )

    # -- what the run knows (kept in its bookkeeping) --------------------------------------
    @property
    def trials(self) -> dict[int, TrialRecord]:
        return self.book.trials

    @property
    def in_flight(self) -> dict[int, str]:
        """Trial id -> job name of the jobs running."""
        return self.book.in_flight

    @property
    def unlaunched(self) -> list[int]:
        """Trials recorded whose jobs are not created yet."""
        return self.book.unlaunched

    # -- the study's memory ----------------------------------------------------------------
    def checkpoint(self, always: bool = False) -> None:
        """Record the strategy's state when the events since the last checkpoint outweigh it."""
        self.book.checkpoint(self.strategy, always)

    def _told(self, tid: int) -> tuple[Suggestion, dict[str, float] | None]:
        """What the strategy is told of a trial: its configuration, and metrics unless it failed
        (a job a stopping rule ended: the values it reached, and at which point)."""
        record = self.trials[tid]
        told_config = Suggestion(
            record.config, parent=record.parent_id, generation=record.generation, trial_id=tid
        )
        record = self.promoter.chain_result(tid)  # ASHA's promotion form: the chain's last job
        metrics = dict(record.metrics) if completed(record) else None
        if metrics is None and self.early_stopping is not None:
            metrics = self.early_stopping.partial_result(record.trial_id, record.metrics)
        return told_config, metrics

    # -- restoring from the log ----------------------------------------------------------
    def adopt(self, log: StudyLog, live_jobs: Mapping[str, JobState]) -> None:
        """Take over a study from its log, reconciled with the jobs SageMaker knows of."""
        book = self.book
        book.take_up(log, live_jobs)
        restore_strategy(self.strategy, log, self._told)
        for tid in sorted(log.trials):
            t = log.trials[tid]
            if t.has_result and t.duplicate_of is None:
                self._account(t)
        book.to_tell = self.promoter.untold(log.result_order, book.lineage.retried_by)
        book.answer_waiting()
        self.book.fresh_from = len(self.trials)

    def _account(self, t: TrialRecord) -> None:
        """Add a finished job to the running totals."""
        self.tally.account(t)
        if t.status == JobStatus.STOPPED.value:
            self.book.lineage.forget(t)

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
                self.spec.objectives,
                self.spec.job.metric_definitions,
                max_jobs=self.budget.max_jobs,
                last_log_lines=self.backend.last_log_lines
                if isinstance(self.backend, ReadsLogs)
                else None,
                stop_jobs=self.stop_all,
            )
            reason = self._budget_reached()
            if reason is None:
                self.promoter.launch()  # ASHA's promotion form: before new configurations
                self.launcher.launch()
                reason = self._exhausted()
            self._report()
            if reason is not None and not self.in_flight:
                return reason
            if reason is not None and self.book.stop_reason is None:
                self.book.stop_reason = reason
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
                    self.book.write(
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
            and objective_values(self.spec.objectives, metrics) is None
        ):
            missing = [o.metric for o in self.spec.objectives if o.metric not in metrics]
            reason = (
                f"the job completed but never printed the objective metric(s) {missing}: "
                "check the metric definitions' regexes against the training script's output"
            )
        self.book.write(
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
        if self.launcher.worth_retrying(tid, state):
            self._retry(tid)
        else:
            # a paused job's chain: told when it ends for good
            self.book.to_tell.extend(self.promoter.to_tell_after(tid))
        self.book.answer_waiting_for(tid)

    def _retry(self, tid: int) -> None:
        new = self.launcher.retry(tid)
        self.promoter.retried(new)  # a promotion's retry: the same promotion, told to the rule
        self.progress.say(
            f"trial {tid} failed for a reason SageMaker marks as its own "
            f"({failure_kind(self.trials[tid].failure_reason)}); "
            f"retrying it as trial {new.trial_id}"
        )

    def _tell(self) -> None:
        if not self.book.to_tell:
            return
        told = []
        for tid in self.book.to_tell:
            self.strategy.tell(*self._told(tid))
            told.append(tid)
        self.book.to_tell = []
        self.book.write(TrialsTold(tuple(told), time=self.clock.now()))
        self.checkpoint()

    # -- failure policy ------------------------------------------------------------------
    def _check_failures(self) -> None:
        """Stop when most of the current generation (async: the last slots' worth) failed alike."""
        recent = self.tally.recent[-self.budget.max_parallel_jobs :]
        members = self.book.judged(recent if self.spec.mode is Mode.ASYNC else None)
        try:
            check_failures(members, self.book.generation, self.spec.name)
        except Exception:
            self.stop_all()
            raise

    # -- budgets ---------------------------------------------------------------------------
    def spent(self) -> float | None:
        """Dollars billed so far, with running jobs counted up to now."""
        since = [self._started[tid] for tid in self.in_flight if tid in self._started]
        return self.tally.spent(self.clock.now(), since)

    def _budget_reached(self) -> str | None:
        if self.book.stop_reason is not None:
            return self.book.stop_reason
        return self.budget.reached(self.clock.now() - self.started_at, self.spent())

    def _exhausted(self) -> str | None:
        if self.book.busy():
            return None
        if self.promoter.release_paused(self.book.to_tell):
            return None  # paused jobs nothing will promote now: tell the strategy, then go on
        if self.book.jobs >= self.budget.max_jobs:
            return f"max_jobs reached ({self.book.jobs} jobs)"
        if self.book.converged():
            return (
                "the strategy repeated configurations already evaluated "
                f"{self.book.duplicates} times "
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
                generation=self.book.generation,
                running=len(self.in_flight),
                finished=self.tally.finished,
                failed=self.tally.failed,
                best=self.tally.best,
                metric=self.spec.objectives[0].metric,
                elapsed=self.clock.now() - self.started_at,
                cost=self.spent(),
            )
        )

    def _wait(self, seconds: float) -> None:
        """Until the next poll; a backend that hears of ended jobs by events, on the study's
        clock, wakes sooner."""
        backend = self.backend
        if isinstance(backend, WaitsForChange) and clock_of(backend) is self.clock:
            backend.wait_for_change(seconds)
        else:
            self.clock.sleep(seconds)

    def _interval(self) -> float:
        return self.pacing.interval(self.in_flight)
