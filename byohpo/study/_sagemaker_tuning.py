"""A study run by SageMaker's own tuner: one HyperParameterTuningJob, its jobs as trials.

The ``sagemaker:`` strategies (:class:`~byohpo.strategies.SageMakerTuner`) choose
nothing themselves: SageMaker's tuner does, inside a tuning job made from the
study's job template, space, objective and budget. This run records the tuning
job's name in the study's store before creating it, then records every training
job SageMaker launches as a trial (``asked``, ``submitted``, ``status`` and
``result`` events, as any other study's), so the results table, the report, the
cost and ``byohpo compare`` treat SageMaker's tuner like any strategy. Resuming
re-attaches to the recorded tuning job; stopping the study stops the tuning job.
"""

from __future__ import annotations

import hashlib
import math
import re
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from byohpo._clock import Clock
from byohpo._pricing import job_cost
from byohpo.backends._base import Backend
from byohpo.backends._request import state_from_description
from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.errors import BackendError, StrategyError, UserError
from byohpo.parameters import format_value
from byohpo.space import Categorical, Config, Continuous, Integer, SearchSpace
from byohpo.strategies._sagemaker_tuner import SageMakerTuner
from byohpo.study import _warm_start as warm_start
from byohpo.study._events import ResultRecorded, StatusSeen, TrialAdopted, TuningJobCreated
from byohpo.study._pacing import study_pacing
from byohpo.study._progress import Progress, ProgressLine
from byohpo.study._store import Store, StudyLog, TrialRecord
from byohpo.trial import JobState, JobStatus, TrialStatus

if TYPE_CHECKING:
    from byohpo.study._specification import StudySpecification

MAX_TUNING_JOB_NAME = 32
_ENDED = ("Completed", "Stopped", "Failed")


def tuning_job_name(study_name: str) -> str:
    """The study's tuning job name: at most 32 letters, digits and hyphens, one per study."""
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", study_name).strip("-")
    if cleaned == study_name and len(cleaned) <= MAX_TUNING_JOB_NAME:
        return cleaned
    digest = hashlib.sha256(study_name.encode()).hexdigest()[:6]
    return f"{(cleaned or 'study')[: MAX_TUNING_JOB_NAME - 7].rstrip('-')}-{digest}"


def recorded_tuning_job(log: StudyLog) -> str | None:
    """The name of the tuning job a study recorded (``sagemaker:`` strategies), if any."""
    names = [str(e["name"]) for e in log.events if e.get("event") == "tuning_job"]
    return names[-1] if names else None


def stop_recorded_tuning_job(backend: Backend, log: StudyLog) -> str | None:
    """Stop the study's tuning job, if it has one that runs; returns its name when asked to."""
    name = recorded_tuning_job(log)
    if name is None or not isinstance(backend, SageMakerBackend):
        return None
    answer = backend.request("DescribeHyperParameterTuningJob", HyperParameterTuningJobName=name)
    if answer["HyperParameterTuningJobStatus"] != "InProgress":
        return None
    backend.request("StopHyperParameterTuningJob", HyperParameterTuningJobName=name)
    return name


def parameter_ranges(space: SearchSpace) -> dict[str, list[dict[str, Any]]]:
    """The space as the API's ``ParameterRanges`` (tuned parameters only)."""
    ranges = space.to_sagemaker()
    return {kind: items for kind, items in ranges.items() if items}


def config_from_hyperparameters(space: SearchSpace, values: Mapping[str, str]) -> Config:
    """A trial's configuration from the strings SageMaker passed its job."""
    config: Config = {}
    for name, param in space.items():
        text = values.get(name)
        if not isinstance(param, Continuous | Integer | Categorical):
            config[name] = param.value
        elif text is None:
            raise BackendError(f"SageMaker's tuner gave a job no value for {name!r}")
        elif isinstance(param, Continuous):
            config[name] = float(text)
        elif isinstance(param, Integer):
            config[name] = int(float(text))
        else:
            matches = [v for v in param.values if format_value(v) == text]
            config[name] = matches[0] if matches else text
    return config


def tuning_job_config(spec: StudySpecification, strategy: SageMakerTuner) -> dict[str, Any]:
    """The ``HyperParameterTuningJobConfig`` of a study: its strategy, objective, limits
    (jobs, parallel jobs, runtime) and ranges."""
    budget, objective = spec.budget, spec.objectives[0]
    limits: dict[str, Any] = {"MaxParallelTrainingJobs": budget.max_parallel_jobs}
    if strategy.algorithm != "grid":
        limits["MaxNumberOfTrainingJobs"] = budget.max_jobs
    if budget.max_runtime is not None:
        limits["MaxRuntimeInSeconds"] = max(120, int(budget.max_runtime))
    config: dict[str, Any] = {
        "Strategy": strategy.sagemaker_strategy,
        "HyperParameterTuningJobObjective": {
            "Type": "Maximize" if objective.maximize else "Minimize",
            "MetricName": objective.metric,
        },
        "ResourceLimits": limits,
        "ParameterRanges": parameter_ranges(spec.space),
        "TrainingJobEarlyStoppingType": "Off",
    }
    strategy_config = strategy.strategy_config()
    if strategy_config is not None:
        config["StrategyConfig"] = strategy_config
    seed = strategy.seed if strategy.seed is not None else spec.seed
    if seed is not None:
        config["RandomSeed"] = int(seed)
    return config


class SageMakerTuningRun:
    """Runs one study as a SageMaker tuning job (the loop of the ``sagemaker:`` strategies).

    Durable in the same way as :class:`~byohpo.study._loop.StudyLoop`: the tuning
    job is recorded before it is created, each training job is recorded when first
    listed, and its result when it ends; a resumed run re-attaches by the recorded
    name and records only what it has not seen.
    """

    def __init__(
        self,
        spec: StudySpecification,
        *,
        backend: Backend,
        store: Store,
        clock: Clock,
        progress: Progress,
        started_at: float,
    ) -> None:
        strategy = spec.strategy
        if not isinstance(strategy, SageMakerTuner):
            raise StrategyError(
                "a SageMaker tuning run needs the 'sagemaker' strategy",
                type(strategy).__name__,
                "Use strategy='sagemaker:bayesian' (or random, hyperband, grid).",
            )
        if not isinstance(backend, SageMakerBackend):
            raise UserError(
                "SageMaker's own tuner runs on SageMaker or its fake",
                f"backend {type(backend).__name__}",
                "Use byohpo.SageMakerBackend() or byohpo.FakeSageMaker(), or another strategy.",
            )
        self.spec = spec
        self.strategy = strategy
        self.objective = spec.objectives[0]
        self.budget = spec.budget
        self.backend: SageMakerBackend = backend
        self.store = store
        self.clock = clock
        self.progress = progress
        self.started_at = started_at
        self.tuning_job: str | None = None
        self.trials: dict[int, TrialRecord] = {}
        self.in_flight: dict[int, str] = {}
        self.unlaunched: list[int] = []
        self._by_name: dict[str, int] = {}
        self._started: dict[int, float] = {}  # running trials' training start (billed since)
        self._stop_reason: str | None = None
        self._status = "InProgress"
        self.pacing = study_pacing(clock, backend, poll_interval=spec.poll_interval)

    # -- resuming ----------------------------------------------------------------------------
    def adopt(self, log: StudyLog, live_jobs: Mapping[str, JobState]) -> None:
        """Take up the recorded tuning job and trials (``live_jobs`` is not needed: the
        tuning job lists its own)."""
        self.tuning_job = recorded_tuning_job(log)
        warm_start.parents_again(log, self.strategy)  # the recorded parents, not looked up again
        for tid, record in sorted(log.trials.items()):
            self.trials[tid] = record
            if record.job_name:
                self._by_name[record.job_name] = tid
                if not record.has_result:
                    self.in_flight[tid] = record.job_name

    # -- the run -------------------------------------------------------------------------------
    def run(self) -> str:
        """Create (or re-attach to) the tuning job and record its jobs until it ends."""
        if self.tuning_job is None:
            self._create()
        while True:
            description = self._describe()
            self._status = str(description["HyperParameterTuningJobStatus"])
            self._collect()
            reason = self._budget_reached()
            if reason is not None and self._stop_reason is None:
                self._stop_reason = reason
                self.stop_all()
            self._report()
            if self._status in _ENDED and not self.in_flight:
                return self._end_reason(description)
            self.clock.sleep(self.pacing.interval(self.in_flight))

    def stop_all(self) -> None:
        """Stop the tuning job (SageMaker stops its jobs); fine if it has already ended."""
        if self.tuning_job is None or self._status in _ENDED:
            return
        try:
            self._request(
                "StopHyperParameterTuningJob", HyperParameterTuningJobName=self.tuning_job
            )
        except BackendError:
            if self._describe()["HyperParameterTuningJobStatus"] not in (*_ENDED, "Stopping"):
                raise

    def _request(self, operation: str, **params: Any) -> Mapping[str, Any]:
        return self.backend.request(operation, **params)

    def _create(self) -> None:
        name = tuning_job_name(self.spec.name)
        definition = self.backend.training_job_definition()
        config = tuning_job_config(self.spec, self.strategy)
        static = {**self.spec.space.static_hyperparameters(), **definition["StaticHyperParameters"]}
        definition["StaticHyperParameters"] = static  # the space's Static values reach every job
        warm = self.strategy.warm_start_config()
        extra = {"WarmStartConfig": warm} if warm is not None else {}
        self.store.record(TuningJobCreated(name, str(config["Strategy"]), time=self.clock.now()))
        self.tuning_job = name
        try:
            self._request(
                "CreateHyperParameterTuningJob",
                HyperParameterTuningJobName=name,
                HyperParameterTuningJobConfig=config,
                TrainingJobDefinition=definition,
                Tags=[{"Key": "byohpo:study", "Value": self.spec.name[:256]}],
                **extra,
            )
        except BackendError as exc:
            if "ResourceInUse" not in str(exc):
                raise
            # recorded by this study before an earlier create whose answer was lost: adopt it
        self.progress.say(f"SageMaker tuning job {name} ({config['Strategy']}) created")

    def _describe(self) -> Mapping[str, Any]:
        return self._request(
            "DescribeHyperParameterTuningJob", HyperParameterTuningJobName=self.tuning_job
        )

    def _summaries(self) -> list[Mapping[str, Any]]:
        params: dict[str, Any] = {
            "HyperParameterTuningJobName": self.tuning_job,
            "SortBy": "CreationTime",
            "SortOrder": "Ascending",
            "MaxResults": 100,
        }
        found: list[Mapping[str, Any]] = []
        while True:
            page = self._request("ListTrainingJobsForHyperParameterTuningJob", **params)
            found.extend(page.get("TrainingJobSummaries", []))
            if not page.get("NextToken"):
                return found
            params["NextToken"] = page["NextToken"]

    def _collect(self) -> None:
        for summary in self._summaries():
            name = str(summary["TrainingJobName"])
            tid = self._by_name.get(name)
            if tid is None:
                tid = self._record_new(name, summary.get("TunedHyperParameters") or {})
            record = self.trials[tid]
            if record.has_result:
                continue
            status = JobStatus(summary["TrainingJobStatus"])
            if status.is_terminal:
                description = self._request("DescribeTrainingJob", TrainingJobName=name)
                self._finish(tid, state_from_description(description, tid))
                continue
            self._note_start(tid, summary.get("TrainingStartTime"))
            if record.status != status.value:
                record.status = TrialStatus(status.value)
                self.store.record(StatusSeen(tid, status.value, None, None, time=self.clock.now()))

    def _note_start(self, tid: int, start: Any) -> None:
        if tid in self._started or start is None:
            return
        self._started[tid] = start.timestamp() if hasattr(start, "timestamp") else float(start)

    def _record_new(self, name: str, tuned: Mapping[str, str]) -> int:
        tid = len(self.trials)
        config = config_from_hyperparameters(self.spec.space, tuned)
        record = TrialRecord(
            trial_id=tid,
            config=config,
            hyperparameters=self.spec.space.hyperparameters(config),
            generation=tid // self.budget.max_parallel_jobs,
            job_name=name,
            instance_type=self.spec.job.instance_type,
            instance_count=self.spec.job.instance_count,
            submitted=True,
            status=TrialStatus.IN_PROGRESS,
        )
        self.store.record(
            TrialAdopted(
                record.spec(),
                f"sagemaker tuning job {self.tuning_job}",
                time=self.clock.now(),
            )
        )
        self.trials[tid] = record
        self._by_name[name] = tid
        self.in_flight[tid] = name
        return tid

    def _finish(self, tid: int, state: JobState) -> None:
        record = self.trials[tid]
        metrics = {k: float(v) for k, v in state.metrics.items() if math.isfinite(float(v))}
        reason = state.failure_reason
        if state.status is JobStatus.COMPLETED and self.objective.metric not in metrics:
            reason = (
                f"the job completed but never printed the objective metric "
                f"{self.objective.metric!r}: check the metric definitions' regexes"
            )
        start = state.start_time.isoformat() if state.start_time else None
        end = state.end_time.isoformat() if state.end_time else None
        self.store.record(
            ResultRecorded(
                tid,
                state.status.value,
                metrics,
                reason,
                start,
                end,
                state.billable_seconds,
                time=self.clock.now(),
            )
        )
        record.has_result = True
        record.status = TrialStatus(state.status.value)
        record.metrics = metrics
        record.failure_reason = reason
        record.billable_seconds = state.billable_seconds
        self.in_flight.pop(tid, None)
        self._started.pop(tid, None)
        self.pacing.ended(tid)

    # -- budgets and progress ------------------------------------------------------------------
    def spent(self) -> float:
        """Dollars billed so far: the jobs that ended, and the running ones up to now (from
        their training start, as SageMaker bills), so max_cost stops a tuning job in time."""
        now = self.clock.now()
        running = sum(
            max(0.0, now - self._started[tid]) for tid in self.in_flight if tid in self._started
        )
        return sum(
            job_cost(
                seconds,
                self.spec.job.instance_type,
                self.spec.job.instance_count,
                getattr(self.backend, "region", None),
                self.spec.prices,
            )
            or 0.0
            for seconds in [*(t.billable_seconds for t in self.trials.values()), running]
        )

    def _budget_reached(self) -> str | None:
        elapsed = self.clock.now() - self.started_at
        if self.budget.max_runtime is not None and elapsed >= self.budget.max_runtime:
            return f"max_runtime reached ({elapsed:.0f} s of {self.budget.max_runtime:.0f} s)"
        spent = self.spent()
        if self.budget.max_cost is not None and spent >= self.budget.max_cost:
            return f"max_cost reached (${spent:.2f} of ${self.budget.max_cost:.2f})"
        return None

    def best(self) -> float | None:
        values = [
            t.metrics[self.objective.metric]
            for t in self.trials.values()
            if t.status == JobStatus.COMPLETED.value and self.objective.metric in t.metrics
        ]
        if not values:
            return None
        return max(values) if self.objective.maximize else min(values)

    def _report(self) -> None:
        done = [t for t in self.trials.values() if t.has_result]
        self.progress.update(
            ProgressLine(
                generation=len(self.trials) // self.budget.max_parallel_jobs,
                running=len(self.in_flight),
                finished=len(done),
                failed=sum(1 for t in done if t.status == JobStatus.FAILED.value),
                best=self.best(),
                metric=self.objective.metric,
                elapsed=self.clock.now() - self.started_at,
                cost=self.spent(),
            )
        )

    def _end_reason(self, description: Mapping[str, Any]) -> str:
        if self._stop_reason is not None:
            return self._stop_reason
        if self._status == "Failed":
            return f"stopped: SageMaker's tuning job failed: {description.get('FailureReason')}"
        if self._status == "Stopped":
            return "stopped: the tuning job was stopped"
        return f"max_jobs reached ({len(self.trials)} jobs, SageMaker's tuner)"
