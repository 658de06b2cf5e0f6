"""SageMaker's hyperparameter tuning jobs in the fake: real training jobs, a stand-in sampler.

CreateHyperParameterTuningJob, DescribeHyperParameterTuningJob,
ListTrainingJobsForHyperParameterTuningJob and StopHyperParameterTuningJob. A
tuning job launches its training jobs through the fake's own CreateTrainingJob,
so each one really runs its script, and names them as SageMaker does
(``<tuning job>-<3 digits>-<8 hex>``).

The stand-in sampler: SageMaker's search algorithms are not public, so every
strategy but ``Grid`` draws each tuned value uniformly at random in its range
(on a log scale for ``Logarithmic`` ranges), seeded by the tuning job's name
(or its ``RandomSeed``); ``Grid`` walks the categorical grid in order. A dry
run shows the plumbing of SageMaker's tuner (its jobs, limits, stop, counts),
not the quality of its Bayesian search. The tuning job advances when it is
asked about (any of the four operations), as a poller sees SageMaker's.

A ``WarmStartConfig`` is checked as SageMaker checks it (its parents exist, have
ended, share the objective metric and the number of hyperparameters) and echoed
by DescribeHyperParameterTuningJob; the stand-in sampler does not learn from the
parents (SageMaker's use of them is not public either).
"""

from __future__ import annotations

import copy
import hashlib
import itertools
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from byohpo.fake._protocol import ServiceError, validation_error
from byohpo.fake._training_jobs import JobStore, TrainingJobRecord
from byohpo.fake._validation import check_model_constraints
from byohpo.trial import JobStatus

_COPIED = (
    "AlgorithmSpecification",
    "RoleArn",
    "InputDataConfig",
    "VpcConfig",
    "OutputDataConfig",
    "ResourceConfig",
    "StoppingCondition",
    "EnableNetworkIsolation",
    "EnableInterContainerTrafficEncryption",
    "EnableManagedSpotTraining",
    "CheckpointConfig",
    "Environment",
)
"""TrainingJobDefinition fields passed as they are to each CreateTrainingJob."""


@dataclass
class TuningJobRecord:
    """One tuning job. Mutated only while holding the job store's lock."""

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    creation_time: float
    rng: random.Random
    status: str = "InProgress"
    jobs: list[str] = field(default_factory=list)
    end_time: float | None = None
    last_modified_time: float = 0.0
    grid: list[dict[str, str]] | None = None
    failure_reason: str | None = None

    @property
    def config(self) -> dict[str, Any]:
        return dict(self.request["HyperParameterTuningJobConfig"])

    @property
    def limits(self) -> dict[str, Any]:
        return dict(self.config.get("ResourceLimits") or {})

    @property
    def max_jobs(self) -> int:
        if self.grid is not None and "MaxNumberOfTrainingJobs" not in self.limits:
            return len(self.grid)
        return int(self.limits.get("MaxNumberOfTrainingJobs", 1))

    @property
    def objective(self) -> dict[str, str]:
        return dict(self.config["HyperParameterTuningJobObjective"])


def sample(ranges: Mapping[str, Any], rng: random.Random) -> dict[str, str]:
    """One value per range, uniform (log-uniform for ``Logarithmic``), as SageMaker's strings."""
    values: dict[str, str] = {}
    for r in ranges.get("ContinuousParameterRanges") or []:
        low, high = float(r["MinValue"]), float(r["MaxValue"])
        if r.get("ScalingType") == "Logarithmic" and low > 0:
            value = math.exp(rng.uniform(math.log(low), math.log(high)))
        elif r.get("ScalingType") == "ReverseLogarithmic" and high < 1:
            value = 1 - math.exp(rng.uniform(math.log(1 - high), math.log(1 - low)))
        else:
            value = rng.uniform(low, high)
        values[r["Name"]] = repr(min(max(value, low), high))
    for r in ranges.get("IntegerParameterRanges") or []:
        low_i, high_i = int(r["MinValue"]), int(r["MaxValue"])
        if r.get("ScalingType") == "Logarithmic" and low_i > 0:
            drawn = round(math.exp(rng.uniform(math.log(low_i), math.log(high_i + 1) - 1e-9)))
            values[r["Name"]] = str(min(max(drawn, low_i), high_i))
        else:
            values[r["Name"]] = str(rng.randint(low_i, high_i))
    for r in ranges.get("CategoricalParameterRanges") or []:
        values[r["Name"]] = rng.choice(list(r["Values"]))
    return values


def grid(ranges: Mapping[str, Any]) -> list[dict[str, str]]:
    """Every combination of the categorical ranges, in order (SageMaker's Grid takes only those)."""
    categorical = list(ranges.get("CategoricalParameterRanges") or [])
    names = [r["Name"] for r in categorical]
    return [
        dict(zip(names, combo, strict=True))
        for combo in itertools.product(*(r["Values"] for r in categorical))
    ]


_ENDED = ("Completed", "Stopped", "Failed")
"""A tuning job's terminal states: the ones a warm start's parents must be in."""


def _hyperparameter_names(config: Mapping[str, Any], definition: Mapping[str, Any]) -> set[str]:
    """A tuning job's hyperparameters: its tuned ranges and its static values."""
    ranges = config.get("ParameterRanges") or {}
    tuned = {str(r["Name"]) for kind in ranges.values() for r in kind}
    return tuned | {str(k) for k in definition.get("StaticHyperParameters") or {}}


def check_warm_start(
    params: dict[str, Any], parent_of: Callable[[str], TuningJobRecord | None]
) -> None:
    """SageMaker's rules for ``WarmStartConfig`` (the API model has already checked its
    shape: one to five parents, a known ``WarmStartType``): each parent exists and has
    ended, and shares the new job's objective metric and number of hyperparameters."""
    config = params["HyperParameterTuningJobConfig"]
    metric = (config.get("HyperParameterTuningJobObjective") or {}).get("MetricName")
    count = len(_hyperparameter_names(config, params["TrainingJobDefinition"]))
    parents = params["WarmStartConfig"].get("ParentHyperParameterTuningJobs") or []
    names = [str(p.get("HyperParameterTuningJobName")) for p in parents]
    if len({n.lower() for n in names}) != len(names):
        raise validation_error("Parent hyper parameter tuning jobs must be unique.")
    for parent_name in names:
        parent = parent_of(parent_name)
        if parent is None:
            raise ServiceError(
                "ResourceNotFound",
                f"Amazon SageMaker can't find a tuning job named {parent_name}.",
            )
        if parent.status not in _ENDED:
            raise validation_error(
                f"Parent hyper parameter tuning job {parent_name} is in status "
                f"{parent.status}; a warm start needs its parents in a terminal state "
                f"({', '.join(_ENDED)})."
            )
        if parent.objective.get("MetricName") != metric:
            raise validation_error(
                f"The objective metric {metric} must be the same as the objective metric "
                f"{parent.objective.get('MetricName')} of parent hyper parameter tuning job "
                f"{parent_name}."
            )
        theirs = _hyperparameter_names(parent.config, parent.request["TrainingJobDefinition"])
        if len(theirs) != count:
            raise validation_error(
                f"The total number of static and tunable hyperparameters ({count}) must be "
                f"the same as in parent hyper parameter tuning job {parent_name} "
                f"({len(theirs)})."
            )


class TuningJobService:
    """Answers the tuning-job operations. Thread-safe (the job store's lock guards all).

    ``create_training_job(region, params)`` is the fake's CreateTrainingJob.
    """

    def __init__(
        self,
        store: JobStore,
        account_id: str,
        create_training_job: Callable[[str, dict[str, Any]], dict[str, Any]],
    ) -> None:
        self._store = store
        self._account = account_id
        self._create_training_job = create_training_job
        self._tuning: dict[tuple[str, str], TuningJobRecord] = {}
        self._handlers: dict[str, Callable[[str, dict[str, Any]], dict[str, Any]]] = {
            "CreateHyperParameterTuningJob": self.create,
            "DescribeHyperParameterTuningJob": self.describe,
            "ListTrainingJobsForHyperParameterTuningJob": self.list_training_jobs,
            "StopHyperParameterTuningJob": self.stop,
        }

    def call(self, operation: str, region: str, params: dict[str, Any]) -> dict[str, Any] | None:
        """The operation's response, or ``None`` if it is not a tuning-job operation."""
        handler = self._handlers.get(operation)
        if handler is None:
            return None
        check_model_constraints(operation, params)
        return handler(region, params)

    def _ended_parent(self, region: str, name: str) -> TuningJobRecord | None:
        parent = self._tuning.get((region, name.lower()))
        if parent is not None:
            self._advance(parent)
        return parent

    def _get(self, region: str, name: str) -> TuningJobRecord:
        record = self._tuning.get((region, name.lower()))
        if record is None:
            raise ServiceError(
                "ResourceNotFound", f"Amazon SageMaker can't find a tuning job named {name}."
            )
        return record

    # --- operations ---------------------------------------------------------------------------

    def create(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        name = params["HyperParameterTuningJobName"]
        if params.get("TrainingJobDefinitions"):
            raise validation_error("The fake runs tuning jobs of one TrainingJobDefinition only.")
        if not params.get("TrainingJobDefinition"):
            raise validation_error("TrainingJobDefinition must be provided.")
        config = params["HyperParameterTuningJobConfig"]
        ranges = config.get("ParameterRanges") or {}
        strategy = config.get("Strategy", "Bayesian")
        seed = config.get("RandomSeed")
        digest = hashlib.sha256(name.encode()).hexdigest()
        with self._store.lock:
            if (region, name.lower()) in self._tuning:
                raise ServiceError(
                    "ResourceInUse", f"Tuning job {name} already exists in this account."
                )
            if params.get("WarmStartConfig"):
                check_warm_start(params, lambda parent: self._ended_parent(region, parent))
            now = time.time()
            record = TuningJobRecord(
                name=name,
                arn=f"arn:aws:sagemaker:{region}:{self._account}:hyper-parameter-tuning-job/"
                f"{name.lower()}",
                region=region,
                request=copy.deepcopy(params),
                creation_time=now,
                last_modified_time=now,
                rng=random.Random(int(seed) if seed is not None else int(digest[:16], 16)),
            )
            if strategy == "Grid":
                record.grid = grid(ranges)
            self._tuning[(region, name.lower())] = record
            self._advance(record)
        return {"HyperParameterTuningJobArn": record.arn}

    def describe(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            record = self._get(region, params["HyperParameterTuningJobName"])
            self._advance(record)
            jobs = self._records(record)
            counts = dict.fromkeys(
                ("Completed", "InProgress", "RetryableError", "NonRetryableError", "Stopped"), 0
            )
            objective = {"Succeeded": 0, "Pending": 0, "Failed": 0}
            for job in jobs:
                status = job.status
                if status is JobStatus.FAILED:
                    counts["NonRetryableError"] += 1
                elif status in (JobStatus.COMPLETED, JobStatus.STOPPED):
                    counts[status.value] += 1
                else:
                    counts["InProgress"] += 1
                value = self._objective_value(record, job)
                if not status.is_terminal:
                    objective["Pending"] += 1
                elif value is None:
                    objective["Failed"] += 1
                else:
                    objective["Succeeded"] += 1
            answer: dict[str, Any] = {
                "HyperParameterTuningJobName": record.name,
                "HyperParameterTuningJobArn": record.arn,
                "HyperParameterTuningJobConfig": copy.deepcopy(record.config),
                "TrainingJobDefinition": copy.deepcopy(record.request["TrainingJobDefinition"]),
                "HyperParameterTuningJobStatus": record.status,
                "CreationTime": record.creation_time,
                "LastModifiedTime": record.last_modified_time,
                "TrainingJobStatusCounters": counts,
                "ObjectiveStatusCounters": objective,
            }
            if record.request.get("WarmStartConfig"):
                answer["WarmStartConfig"] = copy.deepcopy(record.request["WarmStartConfig"])
            if record.end_time is not None:
                answer["HyperParameterTuningEndTime"] = record.end_time
            if record.failure_reason is not None:
                answer["FailureReason"] = record.failure_reason
            best = self._best(record, jobs)
            if best is not None:
                answer["BestTrainingJob"] = best
            return answer

    def list_training_jobs(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            record = self._get(region, params["HyperParameterTuningJobName"])
            self._advance(record)
            summaries = [self._summary(record, job) for job in self._records(record)]
        if params.get("StatusEquals"):
            summaries = [s for s in summaries if s["TrainingJobStatus"] == params["StatusEquals"]]
        key = params.get("SortBy", "CreationTime")
        if key == "FinalObjectiveMetricValue":
            maximize = record.objective.get("Type") == "Maximize"
            missing = -math.inf if maximize else math.inf

            def by_value(s: dict[str, Any]) -> float:
                metric = s.get("FinalHyperParameterTuningJobObjectiveMetric")
                return float(metric["Value"]) if metric else missing

            summaries.sort(key=by_value)
        else:
            field_name = "TrainingJobName" if key == "Name" else "CreationTime"
            summaries.sort(key=lambda s: s[field_name])
        if params.get("SortOrder", "Descending") == "Descending":
            summaries.reverse()
        start = int(params.get("NextToken") or 0)
        size = int(params.get("MaxResults") or 10)
        answer: dict[str, Any] = {"TrainingJobSummaries": summaries[start : start + size]}
        if start + size < len(summaries):
            answer["NextToken"] = str(start + size)
        return answer

    def stop(self, region: str, params: dict[str, Any]) -> dict[str, Any]:
        with self._store.lock:
            record = self._get(region, params["HyperParameterTuningJobName"])
            if record.status != "InProgress":
                raise validation_error(
                    f"The tuning job {record.name} is in status {record.status} and cannot be "
                    "stopped."
                )
            record.status = "Stopping"
            record.last_modified_time = time.time()
            for job in self._records(record):
                if job.status.is_busy and job.stop_cause is None:
                    self._stop_training_job(job)
            self._advance(record)
        return {}

    # --- the tuning job's own progress ------------------------------------------------------

    def _stop_training_job(self, job: TrainingJobRecord) -> None:
        from byohpo.fake._training_jobs import SecondaryStatus, StopCause

        job.stop_cause = StopCause.USER
        job.enter(SecondaryStatus.STOPPING, time.time())
        self._store.changed.notify_all()

    def _records(self, record: TuningJobRecord) -> list[TrainingJobRecord]:
        found = (self._store.get(record.region, name) for name in record.jobs)
        return [job for job in found if job is not None]

    def _advance(self, record: TuningJobRecord) -> None:
        """Launch what the limits allow; end the tuning job when its jobs have ended."""
        jobs = self._records(record)
        busy = sum(1 for job in jobs if not job.status.is_terminal)
        if record.status == "InProgress":
            parallel = int(record.limits.get("MaxParallelTrainingJobs", 1))
            while len(record.jobs) < record.max_jobs and busy < parallel:
                self._launch(record)
                busy += 1
            if len(record.jobs) >= record.max_jobs and busy == 0:
                self._end(record, "Completed")
        elif record.status == "Stopping" and busy == 0:
            self._end(record, "Stopped")

    def _end(self, record: TuningJobRecord, status: str) -> None:
        record.status = status
        record.end_time = record.last_modified_time = time.time()

    def _launch(self, record: TuningJobRecord) -> None:
        definition = record.request["TrainingJobDefinition"]
        ranges = record.config.get("ParameterRanges") or {}
        if record.grid is not None:
            tuned = record.grid[len(record.jobs) % len(record.grid)]
        else:
            tuned = sample(ranges, record.rng)
        suffix = f"{record.rng.getrandbits(32):08x}"
        name = f"{record.name}-{len(record.jobs) + 1:03d}-{suffix}"
        params: dict[str, Any] = {
            key: copy.deepcopy(definition[key]) for key in _COPIED if key in definition
        }
        algorithm = params.setdefault("AlgorithmSpecification", {})
        algorithm.pop("AlgorithmName", None)
        params["TrainingJobName"] = name
        params["HyperParameters"] = {**(definition.get("StaticHyperParameters") or {}), **tuned}
        tags = [*(record.request.get("Tags") or [])]
        tags.append({"Key": "sagemaker:tuning-job", "Value": record.name})
        params["Tags"] = tags
        record.jobs.append(name)  # before the create, so a failed create is not retried forever
        record.last_modified_time = time.time()
        try:
            self._create_training_job(record.region, params)
        except ServiceError as exc:
            record.jobs.pop()
            self._end(record, "Failed")
            record.failure_reason = f"{exc.code}: {exc}"

    def _objective_value(self, record: TuningJobRecord, job: TrainingJobRecord) -> float | None:
        metric = job.final_metrics.get(record.objective["MetricName"])
        if job.status is not JobStatus.COMPLETED or metric is None:
            return None
        return metric.value

    def _tuned(self, record: TuningJobRecord, job: TrainingJobRecord) -> dict[str, str]:
        ranges = record.config.get("ParameterRanges") or {}
        names = {r["Name"] for kind in ranges.values() for r in kind}
        return {k: v for k, v in job.hyperparameters.items() if k in names}

    def _summary(self, record: TuningJobRecord, job: TrainingJobRecord) -> dict[str, Any]:
        summary: dict[str, Any] = {
            "TrainingJobName": job.name,
            "TrainingJobArn": job.arn,
            "TuningJobName": record.name,
            "CreationTime": job.creation_time,
            "TrainingJobStatus": job.status.value,
            "TunedHyperParameters": self._tuned(record, job),
        }
        if job.training_start_time is not None:
            summary["TrainingStartTime"] = job.training_start_time
        if job.training_end_time is not None:
            summary["TrainingEndTime"] = job.training_end_time
        if job.failure_reason:
            summary["FailureReason"] = job.failure_reason
        value = self._objective_value(record, job)
        if value is not None:
            summary["FinalHyperParameterTuningJobObjectiveMetric"] = {
                "MetricName": record.objective["MetricName"],
                "Value": value,
            }
            summary["ObjectiveStatus"] = "Succeeded"
        elif job.status.is_terminal:
            summary["ObjectiveStatus"] = "Failed"
        else:
            summary["ObjectiveStatus"] = "Pending"
        return summary

    def _best(
        self, record: TuningJobRecord, jobs: list[TrainingJobRecord]
    ) -> dict[str, Any] | None:
        scored = [(self._objective_value(record, job), job) for job in jobs]
        candidates = [(value, job) for value, job in scored if value is not None]
        if not candidates:
            return None
        maximize = record.objective.get("Type") == "Maximize"
        _, job = (max if maximize else min)(candidates, key=lambda pair: pair[0])
        return self._summary(record, job)
