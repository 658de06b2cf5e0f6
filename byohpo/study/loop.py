"""The study loop: ask, launch, poll, tell, until a budget ends it.

The loop writes to the store before it acts (a trial is recorded as asked
before its job is created; a parent's checkpoint is copied and the copy
recorded before the job that starts from it is created; a result is recorded
before the strategy is told), so a crash at any point can be resumed without
launching a job twice or losing a result. It never reads the time itself: the
backend's clock (virtual in the simulator) is injected.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from byohpo.errors import CapacityError, StrategyError, StudyStopped
from byohpo.objectives import Objective, objective_values
from byohpo.pricing import job_cost, price_per_hour
from byohpo.strategies.suggestion import Suggestion, generation_of, parent_of
from byohpo.study.metric_check import check_objective_printed
from byohpo.study.progress import Progress, ProgressLine
from byohpo.study.store import Store, StudyLog, TrialRecord
from byohpo.trial import JobState, JobStatus, LaunchRequest

if TYPE_CHECKING:
    from byohpo.backends.base import Backend
    from byohpo.clock import Clock
    from byohpo.space import Config, SearchSpace
    from byohpo.strategies.base import Strategy

RETRYABLE_FAILURE = re.compile(
    r"InternalServerError|CapacityError|InsufficientCapacity|capacity", re.I
)
"""Failures SageMaker marks as its own (internal) or as missing capacity: worth one more try."""

MAX_POLL_INTERVAL = 60.0


@dataclass(frozen=True)
class Budget:
    max_jobs: int
    max_parallel_jobs: int
    max_runtime: float | None = None
    max_cost: float | None = None
    max_retries: int = 2


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _completed(record: TrialRecord) -> bool:
    """Completed with every objective: the strategy was (or will be) told its metrics."""
    return record.status == JobStatus.COMPLETED.value and record.failure_reason is None


_BEFORE_TRAINING = frozenset(
    {"Starting", "Pending", "LaunchingMLInstances", "PreparingTrainingStack"}
)
"""Secondary statuses of a job whose instance is not billed yet."""


def _training_start(state: JobState, now: float) -> float | None:
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


def _failure_kind(reason: str | None) -> str:
    """A failure reason with numbers and quoted names blurred, to group failures of one cause."""
    first = (reason or "unknown").strip().splitlines()[0] if (reason or "").strip() else "unknown"
    return re.sub(r"\d+(\.\d+)?", "N", first)[:200]


class StudyLoop:
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
        mode: str,
        clock: Clock,
        progress: Progress,
        instance_type: str | None,
        instance_count: int,
        region: str | None,
        prices: Mapping[str, float] | None,
        poll_interval: float | None,
        started_at: float,
    ) -> None:
        self.study_name = study_name
        self.space = space
        self.strategy = strategy
        self.objectives = objectives
        self.backend = backend
        self.store = store
        self.budget = budget
        self.mode = mode
        self.clock = clock
        self.progress = progress
        self.instance_type = instance_type
        self.instance_count = instance_count
        self.region = region
        self.prices = prices
        self.poll_interval = poll_interval
        self.started_at = started_at

        self.trials: dict[int, TrialRecord] = {}
        self.in_flight: dict[int, str] = {}  # trial id -> job name
        self.waiting: dict[int, int] = {}  # duplicate trial id -> original trial id
        self.unlaunched: list[int] = []  # asked, recorded, not yet created (capacity)
        self.to_tell: list[int] = []
        self.launch_limit = budget.max_parallel_jobs
        self.generation = 0
        self._batch_closed = False  # the tuner's own generations, for strategies without any
        self._retries: Counter[int] = Counter()  # original trial id -> retries used
        self._retried_by: dict[int, int] = {}  # failed trial id -> its retry's id
        self._seen_status: dict[int, tuple[str, str | None]] = {}
        self._started: dict[int, float] = {}
        self._known: dict[str, int] = {}  # hyperparameters (and parent) -> trial evaluating them
        self._copied: dict[int, str] = {}  # trial id -> where its parent's checkpoint was copied
        self._members: dict[int, list[int]] = {}  # generation -> trials with a job
        self._recent: list[int] = []  # trials with a job, in result order (async failure window)
        self._jobs = 0  # trials with a job of their own
        self._duplicates = 0
        self._finished_cost = 0.0
        self._best: float | None = None
        self._finished = 0
        self._failed = 0
        self.stop_reason: str | None = None
        self._fresh_from = 0  # failures before a resume were already judged

    # -- restoring from the log ----------------------------------------------------------
    def adopt(self, log: StudyLog, live_jobs: Mapping[str, JobState]) -> None:
        """Take over a study from its log, reconciled with the jobs SageMaker knows of."""
        if log.snapshot is not None:
            self.strategy.restore(log.snapshot)
        for _, t in sorted(log.trials.items()):
            self._index(t)
            if t.has_result and t.duplicate_of is None:
                self._account(t)
        if self.trials:
            self.generation = max(t.generation for t in self.trials.values())
        answered = []
        for tid, t in sorted(self.trials.items()):
            if t.has_result:
                continue
            if t.duplicate_of is not None:
                original = self._latest_retry(t.duplicate_of)
                if self.trials[original].has_result:
                    answered.append((tid, original))  # the answer was not recorded in time
                else:
                    self.waiting[tid] = original
            elif t.job_name and t.job_name in live_jobs:
                self.in_flight[tid] = t.job_name
            elif t.job_name:
                self.unlaunched.append(tid)  # recorded, never created: create it now
        self.to_tell = [
            tid
            for tid in log.result_order
            if not self.trials[tid].told and tid not in self._retried_by
        ]
        for duplicate, original in answered:
            self._answer_duplicate(duplicate, original)
        self._batch_closed = not (self.in_flight or self.waiting or self.unlaunched)
        self._fresh_from = len(self.trials)

    def _index(self, t: TrialRecord) -> None:
        """Add a trial to the bookkeeping that keeps each loop step cheap."""
        self.trials[t.trial_id] = t
        if t.duplicate_of is not None:
            self._duplicates += 1
            return
        self._jobs += 1
        self._members.setdefault(t.generation, []).append(t.trial_id)
        self._known[self._job_key(t.hyperparameters, t.parent_id)] = t.trial_id
        if t.retry_of is not None:
            self._retried_by[t.retry_of] = t.trial_id
            self._retries[self._origin(t.trial_id)] += 1

    def _account(self, t: TrialRecord) -> None:
        """Add a finished job to the running totals."""
        self._finished += 1
        self._recent.append(t.trial_id)
        if t.status == JobStatus.FAILED.value:
            self._failed += 1
        if t.status == JobStatus.STOPPED.value:
            key = self._job_key(t.hyperparameters, t.parent_id)
            if self._known.get(key) == t.trial_id:
                del self._known[key]  # stopped early: no result to reuse
        self._finished_cost += (
            job_cost(
                t.billable_seconds,
                self.instance_type,
                self.instance_count,
                self.region,
                self.prices,
            )
            or 0.0
        )
        obj = self.objectives[0]
        value = t.metrics.get(obj.metric) if t.failure_reason is None else None
        better = self._best is None or (
            value is not None and (value > self._best if obj.maximize else value < self._best)
        )
        if t.status == JobStatus.COMPLETED.value and value is not None and better:
            self._best = value

    def _origin(self, tid: int) -> int:
        while self.trials[tid].retry_of is not None:
            tid = int(self.trials[tid].retry_of)  # type: ignore[arg-type]
        return tid

    # -- the loop ---------------------------------------------------------------------
    def run(self) -> str:
        """Run until a budget or the strategy ends the study; returns why it ended."""
        while True:
            if self.in_flight:
                self._collect(self.backend.poll(list(self.in_flight.values())))
            self._tell()
            self._check_failures()
            check_objective_printed(
                self.trials.values(),
                self.objectives,
                getattr(getattr(self.backend, "job", None), "metric_definitions", {}),
                max_jobs=self.budget.max_jobs,
                last_log_lines=getattr(self.backend, "last_log_lines", None),
                stop_jobs=self.stop_all,
            )
            reason = self._budget_reached()
            if reason is None:
                self._launch()
                reason = self._exhausted()
            self._report()
            if reason is not None and not self.in_flight:
                return reason
            if reason is not None and self.stop_reason is None:
                self.stop_reason = reason
                if reason.startswith(("max_runtime", "max_cost")):
                    self.stop_all()
            self.clock.sleep(self._interval())

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
                started = _training_start(state, self.clock.now())
                if started is not None:
                    self._started[tid] = started
            if not state.status.is_terminal:
                if self._seen_status.get(tid) != key:
                    self._seen_status[tid] = key
                    self.store.record(
                        {
                            "event": "status",
                            "trial_id": tid,
                            "status": state.status.value,
                            "secondary_status": state.secondary_status,
                            "start_time": _iso(state.start_time),
                            "time": self.clock.now(),
                        }
                    )
                    self.trials[tid].status = state.status.value
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
        event = {
            "event": "result",
            "trial_id": tid,
            "status": state.status.value,
            "metrics": metrics,
            "failure_reason": reason,
            "start_time": _iso(state.start_time),
            "end_time": _iso(state.end_time),
            "billable_seconds": state.billable_seconds,
            "time": self.clock.now(),
        }
        self.store.record(event)
        record.has_result = True
        record.status = state.status.value
        record.metrics = metrics
        record.failure_reason = reason
        record.start_time = _iso(state.start_time)
        record.end_time = _iso(state.end_time)
        record.billable_seconds = state.billable_seconds
        del self.in_flight[tid]
        self._account(record)
        if self._should_retry(tid, state):
            self._retry(tid)
        else:
            self.to_tell.append(tid)
        if self.waiting:
            for dup, original in list(self.waiting.items()):
                if original == tid and tid not in self._retried_by:
                    self._answer_duplicate(dup, tid)
                elif original == tid:
                    self.waiting[dup] = self._latest_retry(tid)

    def _latest_retry(self, tid: int) -> int:
        while tid in self._retried_by:
            tid = self._retried_by[tid]
        return tid

    def _should_retry(self, tid: int, state: JobState) -> bool:
        if state.status is not JobStatus.FAILED or self.stop_reason is not None:
            return False
        if not RETRYABLE_FAILURE.search(state.failure_reason or ""):
            return False
        if self._retries[self._origin(tid)] >= self.budget.max_retries:
            return False
        return self._jobs < self.budget.max_jobs

    def _retry(self, tid: int) -> None:
        origin = self.trials[tid]
        new = self._new_trial(
            origin.config, origin.generation, retry_of=tid, parent_id=origin.parent_id
        )
        self.store.record({"event": "asked", "trials": [self._spec(new)], "snapshot": None})
        self.progress.say(
            f"trial {tid} failed for a reason SageMaker marks as its own "
            f"({_failure_kind(origin.failure_reason)}); retrying it as trial {new.trial_id}"
        )
        self.unlaunched.append(new.trial_id)

    def _answer_duplicate(self, dup: int, original: int) -> None:
        source = self.trials[original]
        record = self.trials[dup]
        self.store.record(
            {
                "event": "duplicate",
                "trial_id": dup,
                "status": source.status,
                "metrics": source.metrics,
                "failure_reason": source.failure_reason,
                "start_time": None,
                "end_time": None,
                "billable_seconds": 0,
                "time": self.clock.now(),
            }
        )
        record.has_result = True
        record.status = source.status
        record.metrics = dict(source.metrics)
        record.failure_reason = source.failure_reason
        record.billable_seconds = 0
        self.waiting.pop(dup, None)
        self.to_tell.append(dup)

    def _tell(self) -> None:
        if not self.to_tell:
            return
        told = []
        for tid in self.to_tell:
            record = self.trials[tid]
            told_config = Suggestion(
                record.config,
                parent=record.parent_id,
                generation=record.generation,
                trial_id=tid,
            )
            metrics = dict(record.metrics) if _completed(record) else None
            self.strategy.tell(told_config, metrics)
            record.told = True
            told.append(tid)
        self.to_tell = []
        self.store.record({"event": "told", "trial_ids": told, "snapshot": self._snapshot()})

    def _snapshot(self) -> dict[str, Any] | None:
        try:
            return self.strategy.snapshot()
        except NotImplementedError:
            return None

    # -- failure policy ------------------------------------------------------------------
    def _check_failures(self) -> None:
        """Stop when most of the current generation (async: the last slots' worth) failed alike."""
        if self.mode == "async":
            ids = self._recent[-self.budget.max_parallel_jobs :]
        else:
            ids = self._members.get(self.generation, [])
        members = [
            self.trials[i] for i in ids if i not in self._retried_by and i >= self._fresh_from
        ]
        if len(members) < 2:
            return
        failed = [t for t in members if t.has_result and t.status == JobStatus.FAILED.value]
        if len(failed) < 2:
            return
        kind, count = Counter(_failure_kind(t.failure_reason) for t in failed).most_common(1)[0]
        if count * 2 > len(members):
            example = next(t for t in failed if _failure_kind(t.failure_reason) == kind)
            self.stop_all()
            raise StudyStopped(
                f"{count} of the {len(members)} jobs of generation {self.generation} "
                "failed the same "
                f"way, so the study stopped before spending more. First failure "
                f"({example.job_name}): {example.failure_reason}. Fix the training script, then "
                f"`byohpo resume {self.study_name}` goes on with the fixed code (the failed jobs "
                "stay on record); or run the study file again as a new study with "
                "`byohpo run STUDY.toml --name NEW`."
            )

    # -- budgets ---------------------------------------------------------------------------
    def spent(self) -> float | None:
        """Dollars billed so far, with running jobs counted up to now."""
        if self.instance_type is None:
            return None
        price = price_per_hour(self.instance_type, self.region, self.prices)
        if price is None:
            return None
        now = self.clock.now()
        running = sum(now - self._started[tid] for tid in self.in_flight if tid in self._started)
        return self._finished_cost + max(0.0, running) / 3600.0 * price * self.instance_count

    def _budget_reached(self) -> str | None:
        if self.stop_reason is not None:
            return self.stop_reason
        b = self.budget
        elapsed = self.clock.now() - self.started_at
        if b.max_runtime is not None and elapsed >= b.max_runtime:
            return f"max_runtime reached ({elapsed:.0f} s of {b.max_runtime:.0f} s)"
        spent = self.spent()
        if b.max_cost is not None and spent is not None and spent >= b.max_cost:
            return f"max_cost reached (${spent:.2f} of ${b.max_cost:.2f})"
        return None

    def _exhausted(self) -> str | None:
        if self.in_flight or self.waiting or self.unlaunched or self.to_tell:
            return None
        if self._jobs >= self.budget.max_jobs:
            return f"max_jobs reached ({self._jobs} jobs)"
        if self._duplicates >= max(10 * self.budget.max_jobs, 100):
            return (
                f"the strategy repeated configurations already evaluated {self._duplicates} times "
                "(it has converged); no more jobs were worth paying for"
            )
        return "the strategy proposed no more configurations"

    # -- launching --------------------------------------------------------------------------
    def _free_slots(self) -> int:
        return min(self.budget.max_parallel_jobs, self.launch_limit) - len(self.in_flight)

    def _launch(self) -> None:
        self._launch_unlaunched()
        batches = not hasattr(self.strategy, "generation")
        whole_generations = self.mode == "generational" and self.strategy.supports_async
        for _ in range(10 * self.budget.max_parallel_jobs + 100):  # duplicates are free: bound them
            if self._free_slots() <= 0 or self.unlaunched or self.stop_reason is not None:
                return
            remaining = self.budget.max_jobs - self._jobs
            if remaining <= 0 or self._duplicates >= max(10 * self.budget.max_jobs, 100):
                return
            if whole_generations and (self.in_flight or self.waiting):
                return  # an async-capable strategy run generationally: wait for the generation
            n = min(self._free_slots(), remaining)
            configs = self.strategy.ask(n)[:n]
            if not configs:
                self._batch_closed = True
                return
            stated = [g for g in map(generation_of, configs) if g is not None]
            if stated:
                self.generation = max(self.generation, *stated)
            elif batches:
                if self._batch_closed and self.mode == "generational":
                    self.generation += 1
                self._batch_closed = whole_generations
            else:
                self.generation = int(self.strategy.generation)  # type: ignore[attr-defined]
            self._plan(configs)
            self._launch_unlaunched()

    def _plan(self, configs: list[Config]) -> None:
        new_trials = []
        for config in configs:
            self.space.validate(config)
            parent = self._checked_parent(config)
            key = self._job_key(self.space.hyperparameters(config), parent)
            generation = generation_of(config)
            if generation is None and parent is not None:
                generation = self.trials[parent].generation + 1
            new_trials.append(
                self._new_trial(
                    config,
                    self._generation_of_next() if generation is None else generation,
                    duplicate_of=self._known.get(key),
                    parent_id=parent,
                )
            )
        self.store.record(
            {
                "event": "asked",
                "trials": [self._spec(t) for t in new_trials],
                "snapshot": self._snapshot(),
            }
        )
        for t in new_trials:
            if t.duplicate_of is None:
                self.unlaunched.append(t.trial_id)
                continue
            original = self._latest_retry(t.duplicate_of)
            if self.trials[original].has_result:
                self._answer_duplicate(t.trial_id, original)
            else:
                self.waiting[t.trial_id] = original

    def _generation_of_next(self) -> int:
        if self.mode == "async" and not hasattr(self.strategy, "generation"):
            return (self._jobs + self._duplicates) // self.budget.max_parallel_jobs
        return self.generation

    def _new_trial(
        self,
        config: Config,
        generation: int,
        *,
        duplicate_of: int | None = None,
        retry_of: int | None = None,
        parent_id: int | None = None,
    ) -> TrialRecord:
        tid = len(self.trials)
        record = TrialRecord(
            trial_id=tid,
            config=dict(config),
            hyperparameters=self.space.hyperparameters(config),
            generation=generation,
            job_name=None if duplicate_of is not None else self.backend.job_name(tid),
            parent_id=parent_id,
            duplicate_of=duplicate_of,
            retry_of=retry_of,
            instance_type=self.instance_type,
            instance_count=self.instance_count,
        )
        self._index(record)
        return record

    @staticmethod
    def _spec(t: TrialRecord) -> dict[str, Any]:
        return {
            "trial_id": t.trial_id,
            "config": t.config,
            "hyperparameters": t.hyperparameters,
            "generation": t.generation,
            "job_name": t.job_name,
            "parent_id": t.parent_id,
            "duplicate_of": t.duplicate_of,
            "retry_of": t.retry_of,
            "instance_type": t.instance_type,
            "instance_count": t.instance_count,
        }

    def _launch_unlaunched(self) -> None:
        while self.unlaunched and self._free_slots() > 0:
            tid = self.unlaunched[0]
            record = self.trials[tid]
            checkpoint = self._copy_parent_checkpoint(record)
            try:
                job_name = self.backend.submit(
                    LaunchRequest(tid, record.hyperparameters, checkpoint_s3_uri=checkpoint)
                )
            except CapacityError as exc:
                self.launch_limit = max(1, len(self.in_flight))
                self.store.record(
                    {"event": "launch_limit", "limit": self.launch_limit, "reason": str(exc)}
                )
                self.progress.say(
                    f"SageMaker has no capacity for another {self.instance_type} ({exc}); "
                    f"launching at most {self.launch_limit} at once for now and retrying"
                )
                return
            self.unlaunched.pop(0)
            self.in_flight[tid] = job_name
            record.submitted = True
            record.status = JobStatus.IN_PROGRESS.value
            self.store.record(
                {
                    "event": "submitted",
                    "trial_id": tid,
                    "job_name": job_name,
                    "time": self.clock.now(),
                }
            )
            if (
                self.launch_limit < self.budget.max_parallel_jobs
                and len(self.in_flight) >= self.launch_limit
            ):
                self.launch_limit += 1  # capacity came back for this one: try one more next time

    # -- warm starts -------------------------------------------------------------------------
    def _checked_parent(self, config: Config) -> int | None:
        """The parent a suggestion names: a trial that completed (its checkpoint is final)."""
        parent = parent_of(config)
        if parent is None:
            return None
        record = self.trials.get(parent)
        if record is None or not _completed(record):
            state = "no such trial" if record is None else f"trial {parent} is {record.status}"
            raise StrategyError(
                "a suggestion's parent must be a trial that completed (only a finished job has "
                "a checkpoint to start from)",
                f"parent={parent} ({state})",
                "Name as parent the trial_id told with a completed result.",
            )
        return parent

    def _job_key(self, hyperparameters: Mapping[str, str], parent: int | None) -> str:
        """Two trials run the same job when their hyperparameters and starting checkpoint agree."""
        key = json.dumps(hyperparameters, sort_keys=True)
        if parent is None:
            return key
        return f"{key} <- {self._checkpoint_source(parent).trial_id}"

    def _checkpoint_source(self, tid: int) -> TrialRecord:
        """The trial whose job ran for ``tid``: itself, or what its duplicate answered from."""
        record = self.trials[tid]
        while record.duplicate_of is not None:
            record = self.trials[self._latest_retry(record.duplicate_of)]
        return record

    def _copy_parent_checkpoint(self, record: TrialRecord) -> str | None:
        """Copy the parent's last checkpoint to the trial's own location; None without a parent.

        Copying again after a crash is harmless: the job was not created yet
        (a created job is re-attached, never launched again), and the copy is
        verified complete each time before the job starts.
        """
        if record.parent_id is None or record.job_name is None:
            return None
        if record.trial_id in self._copied:  # copied, then SageMaker had no capacity
            return self._copied[record.trial_id]
        source = self._checkpoint_source(record.parent_id)
        assert source.job_name is not None
        copy = self.backend.copy_checkpoint(source.job_name, record.job_name)
        self.store.record(
            {
                "event": "checkpoint",
                "trial_id": record.trial_id,
                "parent_id": record.parent_id,
                "source_job": copy.source_job,
                "source_uri": copy.source_uri,
                "target_uri": copy.target_uri,
                "objects": len(copy.keys),
                "time": self.clock.now(),
            }
        )
        self._copied[record.trial_id] = copy.target_uri
        return copy.target_uri

    # -- reporting and pacing ---------------------------------------------------------------
    def best(self) -> float | None:
        """The best value of the first objective among completed jobs."""
        return self._best

    def _report(self) -> None:
        self.progress.update(
            ProgressLine(
                generation=self.generation,
                running=len(self.in_flight),
                finished=self._finished,
                failed=self._failed,
                best=self._best,
                metric=self.objectives[0].metric,
                elapsed=self.clock.now() - self.started_at,
                cost=self.spent(),
            )
        )

    def _interval(self) -> float:
        """Short while jobs are starting, longer for long jobs, never under the API's limit."""
        base = max(self.backend.min_poll_interval, self.poll_interval or 0.0)
        if self.poll_interval is not None:
            return base
        now = self.clock.now()
        ages = [now - self._started[tid] for tid in self.in_flight if tid in self._started]
        if not ages or len(ages) < len(self.in_flight):
            return base
        ages.sort()
        # A slot whose job ended waits half an interval, on average, to be refilled (or for the
        # next generation): polling every 1% of the jobs' typical age keeps that near 0.5% of
        # the slot's time (measured on the simulator, see docs/benchmarks.md).
        return min(MAX_POLL_INTERVAL, max(base, 0.01 * ages[len(ages) // 2]))
