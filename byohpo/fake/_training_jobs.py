"""Training jobs as the fake SageMaker holds them: their states, their history, their shape.

A job moves through SageMaker's secondary statuses (``Starting``, ``Downloading``,
``Training``, ``Uploading``) to ``Completed``, ``Failed`` or ``Stopped``; every move is
recorded in ``SecondaryStatusTransitions`` as SageMaker does. The records render themselves
in the exact JSON shapes of DescribeTrainingJob, ListTrainingJobs and Search.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any

from byohpo.fake._faults import JobFate
from byohpo.fake._protocol import ServiceError
from byohpo.fake._validation import DEFAULT_MAX_RUNTIME_SECONDS
from byohpo.trial import JobStatus

LOG_GROUP = "/aws/sagemaker/TrainingJobs"
"""The CloudWatch Logs group of every training job's output."""
MAX_FAILURE_REASON = 1024
"""SageMaker's limit on the length of ``FailureReason``."""


class SecondaryStatus(StrEnum):
    """``SecondaryStatus`` of a training job, as SageMaker reports it."""

    STARTING = "Starting"
    DOWNLOADING = "Downloading"
    TRAINING = "Training"
    UPLOADING = "Uploading"
    STOPPING = "Stopping"
    STOPPED = "Stopped"
    MAX_RUNTIME_EXCEEDED = "MaxRuntimeExceeded"
    MAX_WAIT_TIME_EXCEEDED = "MaxWaitTimeExceeded"
    COMPLETED = "Completed"
    FAILED = "Failed"

    @property
    def primary(self) -> JobStatus:
        """The ``TrainingJobStatus`` this secondary status belongs to."""
        return _PRIMARY.get(self, JobStatus.IN_PROGRESS)

    @property
    def message(self) -> str:
        """SageMaker's ``StatusMessage`` for a transition into this status."""
        return _MESSAGES[self]


_PRIMARY = {
    SecondaryStatus.STOPPING: JobStatus.STOPPING,
    SecondaryStatus.STOPPED: JobStatus.STOPPED,
    SecondaryStatus.MAX_RUNTIME_EXCEEDED: JobStatus.STOPPED,
    SecondaryStatus.MAX_WAIT_TIME_EXCEEDED: JobStatus.STOPPED,
    SecondaryStatus.COMPLETED: JobStatus.COMPLETED,
    SecondaryStatus.FAILED: JobStatus.FAILED,
}

_MESSAGES = {
    SecondaryStatus.STARTING: "Preparing the instances for training",
    SecondaryStatus.DOWNLOADING: "Downloading input data",
    SecondaryStatus.TRAINING: "Training image download completed. Training in progress.",
    SecondaryStatus.UPLOADING: "Uploading generated training model",
    SecondaryStatus.STOPPING: "Stopping the training job",
    SecondaryStatus.STOPPED: "Training job stopped",
    SecondaryStatus.MAX_RUNTIME_EXCEEDED: "Training job exceeded MaxRuntimeInSeconds provided",
    SecondaryStatus.MAX_WAIT_TIME_EXCEEDED: ("Training job exceeded MaxWaitTimeInSeconds provided"),
    SecondaryStatus.COMPLETED: "Training job completed",
    SecondaryStatus.FAILED: "Training job failed",
}


class StopCause(StrEnum):
    """Why a job is being stopped."""

    USER = "StopTrainingJob"
    MAX_RUNTIME = "MaxRuntimeInSeconds"
    MAX_WAIT = "MaxWaitTimeInSeconds"

    @property
    def final_status(self) -> SecondaryStatus:
        return {
            StopCause.USER: SecondaryStatus.STOPPED,
            StopCause.MAX_RUNTIME: SecondaryStatus.MAX_RUNTIME_EXCEEDED,
            StopCause.MAX_WAIT: SecondaryStatus.MAX_WAIT_TIME_EXCEEDED,
        }[self]


class WarmPoolState(StrEnum):
    """``WarmPoolStatus.Status`` of a job that asked for a warm pool."""

    AVAILABLE = "Available"
    TERMINATED = "Terminated"
    REUSED = "Reused"
    IN_USE = "InUse"


@dataclass
class MetricValue:
    value: float
    timestamp: float


@dataclass
class TrainingJobRecord:
    """One training job. Mutated only while holding :attr:`JobStore.lock`."""

    name: str
    arn: str
    region: str
    request: dict[str, Any]
    """The CreateTrainingJob parameters, as received."""
    creation_time: float
    fate: JobFate = field(default_factory=JobFate)
    tags: dict[str, str] = field(default_factory=dict)
    secondary_status: SecondaryStatus = SecondaryStatus.STARTING
    transitions: list[dict[str, Any]] = field(default_factory=list)
    last_modified_time: float = 0.0
    training_start_time: float | None = None
    training_end_time: float | None = None
    failure_reason: str | None = None
    model_artifacts: str | None = None
    final_metrics: dict[str, MetricValue] = field(default_factory=dict)
    stop_cause: StopCause | None = None
    warm_start: bool = False
    """Started on a warm pool another job left (starts faster)."""
    warm_pool_state: WarmPoolState | None = None
    warm_pool_since: float = 0.0
    warm_pool_retained_seconds: int = 0
    warm_pool_reused_by: str | None = None
    log_stream: str | None = None
    work_dir: Path | None = None
    pid: int | None = None
    exit_code: int | None = None

    @property
    def status(self) -> JobStatus:
        if self.stop_cause is not None and not self.secondary_status.primary.is_terminal:
            return JobStatus.STOPPING
        return self.secondary_status.primary

    @property
    def hyperparameters(self) -> dict[str, str]:
        return dict(self.request.get("HyperParameters") or {})

    @property
    def resource_config(self) -> dict[str, Any]:
        return dict(self.request.get("ResourceConfig") or {})

    @property
    def stopping_condition(self) -> dict[str, Any]:
        condition = dict(self.request.get("StoppingCondition") or {})
        condition.setdefault("MaxRuntimeInSeconds", DEFAULT_MAX_RUNTIME_SECONDS)
        return condition

    @property
    def metric_definitions(self) -> list[dict[str, str]]:
        algorithm = self.request.get("AlgorithmSpecification") or {}
        return list(algorithm.get("MetricDefinitions") or [])

    @property
    def keep_alive_seconds(self) -> int | None:
        keep_alive = self.resource_config.get("KeepAlivePeriodInSeconds")
        return int(keep_alive) if keep_alive else None

    def limit_reached(self, now: float) -> StopCause | None:
        """The limit that stops this job at ``now``: MaxRuntime since training started or,
        for spot, MaxWaitTime since creation; ``None`` while within both."""
        condition = self.stopping_condition
        cause = None
        started = self.training_start_time
        if started is not None and now - started >= condition["MaxRuntimeInSeconds"]:
            cause = StopCause.MAX_RUNTIME
        max_wait = condition.get("MaxWaitTimeInSeconds")
        if max_wait is not None and now - self.creation_time >= max_wait:
            cause = StopCause.MAX_WAIT
        return cause

    def enter(self, status: SecondaryStatus, now: float) -> None:
        """Move to ``status``, closing the previous transition. Idempotent per status."""
        if self.transitions and self.transitions[-1]["Status"] == status.value:
            return
        if self.transitions:
            self.transitions[-1]["EndTime"] = now
        transition: dict[str, Any] = {
            "Status": status.value,
            "StartTime": now,
            "StatusMessage": status.message,
        }
        if status.primary.is_terminal:
            transition["EndTime"] = now
        self.transitions.append(transition)
        self.secondary_status = status
        self.last_modified_time = now
        if self.keep_alive_seconds and not status.primary.is_terminal:
            self.warm_pool_state = WarmPoolState.IN_USE

    def finish(
        self, status: SecondaryStatus, now: float, failure_reason: str | None = None
    ) -> None:
        """End the job in a terminal ``status``; billing and the warm pool follow."""
        if failure_reason is not None:
            self.failure_reason = failure_reason[:MAX_FAILURE_REASON]
        if self.training_start_time is not None:
            self.training_end_time = now
        self.enter(status, now)
        if self.keep_alive_seconds:
            if self.training_start_time is not None:
                self.warm_pool_state = WarmPoolState.AVAILABLE
                self.warm_pool_since = now
            else:
                self.warm_pool_state = WarmPoolState.TERMINATED

    @property
    def training_seconds(self) -> int | None:
        if self.training_start_time is None or self.training_end_time is None:
            return None
        return max(1, math.ceil(self.training_end_time - self.training_start_time))

    def billable_seconds(self, spot_savings: float) -> int | None:
        seconds = self.training_seconds
        if seconds is None:
            return None
        if self.request.get("EnableManagedSpotTraining"):
            return max(1, math.ceil(seconds * (1.0 - spot_savings)))
        return seconds

    def warm_pool(self, now: float) -> dict[str, Any] | None:
        """``WarmPoolStatus``; an available pool whose keep-alive ran out becomes Terminated."""
        keep_alive = self.keep_alive_seconds
        state = self.warm_pool_state
        if not keep_alive or state is None:
            return None
        if state is WarmPoolState.AVAILABLE and now >= self.warm_pool_since + keep_alive:
            self.warm_pool_state = state = WarmPoolState.TERMINATED
            self.warm_pool_retained_seconds = keep_alive
        status: dict[str, Any] = {"Status": state.value}
        if state is WarmPoolState.AVAILABLE:
            status["ResourceRetainedBillableTimeInSeconds"] = int(now - self.warm_pool_since)
        elif state in (WarmPoolState.TERMINATED, WarmPoolState.REUSED):
            status["ResourceRetainedBillableTimeInSeconds"] = self.warm_pool_retained_seconds
        if self.warm_pool_reused_by:
            status["ReusedByJob"] = self.warm_pool_reused_by
        return status

    def hand_over_warm_pool(self, to_job: str, now: float) -> None:
        self.warm_pool_state = WarmPoolState.REUSED
        self.warm_pool_reused_by = to_job
        self.warm_pool_retained_seconds = int(now - self.warm_pool_since)

    def warm_pool_key(self) -> tuple[Any, ...]:
        """What must match for a job to reuse this job's warm pool."""
        resources = self.resource_config
        return (
            resources.get("InstanceType"),
            resources.get("InstanceCount"),
            resources.get("VolumeSizeInGB"),
            resources.get("VolumeKmsKeyId"),
            self.request.get("RoleArn"),
            repr(self.request.get("VpcConfig")),
        )

    def describe(self, now: float, spot_savings: float) -> dict[str, Any]:
        """The DescribeTrainingJob response."""
        request = self.request
        description: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "TrainingJobStatus": self.status.value,
            "SecondaryStatus": self.secondary_status.value,
            "HyperParameters": self.hyperparameters,
            "AlgorithmSpecification": copy.deepcopy(request.get("AlgorithmSpecification")),
            "RoleArn": request.get("RoleArn"),
            "OutputDataConfig": copy.deepcopy(request.get("OutputDataConfig")),
            "ResourceConfig": self.resource_config,
            "StoppingCondition": self.stopping_condition,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "SecondaryStatusTransitions": [dict(t) for t in self.transitions],
            "EnableNetworkIsolation": bool(request.get("EnableNetworkIsolation")),
            "EnableInterContainerTrafficEncryption": bool(
                request.get("EnableInterContainerTrafficEncryption")
            ),
            "EnableManagedSpotTraining": bool(request.get("EnableManagedSpotTraining")),
        }
        for key in (
            "InputDataConfig",
            "VpcConfig",
            "CheckpointConfig",
            "Environment",
            "RetryStrategy",
            "ExperimentConfig",
            "DebugHookConfig",
            "TensorBoardOutputConfig",
            "ProfilerConfig",
        ):
            if request.get(key) is not None:
                description[key] = copy.deepcopy(request[key])
        optional = {
            "TrainingStartTime": self.training_start_time,
            "TrainingEndTime": self.training_end_time,
            "FailureReason": self.failure_reason,
            "TrainingTimeInSeconds": self.training_seconds,
            "BillableTimeInSeconds": self.billable_seconds(spot_savings),
            "WarmPoolStatus": self.warm_pool(now),
        }
        description.update({k: v for k, v in optional.items() if v is not None})
        if self.model_artifacts:
            description["ModelArtifacts"] = {"S3ModelArtifacts": self.model_artifacts}
        if self.status.is_terminal and self.final_metrics:
            description["FinalMetricDataList"] = [
                {"MetricName": name, "Value": metric.value, "Timestamp": metric.timestamp}
                for name, metric in self.final_metrics.items()
            ]
        return description

    def summary(self, now: float) -> dict[str, Any]:
        """One entry of ListTrainingJobs' ``TrainingJobSummaries``."""
        summary: dict[str, Any] = {
            "TrainingJobName": self.name,
            "TrainingJobArn": self.arn,
            "CreationTime": self.creation_time,
            "LastModifiedTime": self.last_modified_time,
            "TrainingJobStatus": self.status.value,
            "SecondaryStatus": self.secondary_status.value,
        }
        if self.training_end_time is not None:
            summary["TrainingEndTime"] = self.training_end_time
        warm_pool = self.warm_pool(now)
        if warm_pool is not None:
            summary["WarmPoolStatus"] = warm_pool
        return summary

    def search_record(self, now: float, spot_savings: float) -> dict[str, Any]:
        """The ``TrainingJob`` of one Search result: the description plus its tags."""
        record = self.describe(now, spot_savings)
        record["Tags"] = [{"Key": k, "Value": v} for k, v in self.tags.items()]
        return record


@dataclass(frozen=True)
class FakeTrainingJob:
    """A snapshot of one job of the fake, for tests and dry-run reports."""

    name: str
    region: str
    status: JobStatus
    secondary_status: SecondaryStatus
    hyperparameters: Mapping[str, str]
    final_metrics: Mapping[str, float]
    failure_reason: str | None
    creation_time: datetime
    start_time: datetime | None
    end_time: datetime | None
    log_stream: str | None
    work_dir: Path | None
    """The local directory standing in for the job's ``/opt/ml``."""
    pid: int | None
    """The process id of the job's script (its process group id too)."""
    exit_code: int | None
    stop_cause: StopCause | None


def _datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)


class JobStore:
    """Every training job of the fake, by region. Thread-safe: :attr:`lock` guards all.

    Names are unique per region ignoring case, as SageMaker's (lower-cased) ARNs are.
    """

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self._jobs: dict[tuple[str, str], TrainingJobRecord] = {}

    def ensure_name_free(self, region: str, name: str) -> None:
        """Raise ``ResourceInUse`` if a job of that name exists in the region."""
        with self.lock:
            existing = self._jobs.get((region, name.lower()))
            if existing is not None:
                raise ServiceError(
                    "ResourceInUse",
                    "Training job names must be unique within an AWS account and region, "
                    "and a training job with this name already exists "
                    f"({existing.arn})",
                )

    def add(self, record: TrainingJobRecord) -> None:
        """Store a new job; ``ResourceInUse`` if the name is taken in its region."""
        with self.lock:
            self.ensure_name_free(record.region, record.name)
            self._jobs[(record.region, record.name.lower())] = record
            self.changed.notify_all()

    def get(self, region: str, name: str) -> TrainingJobRecord | None:
        with self.lock:
            return self._jobs.get((region, name.lower()))

    def find(self, name: str) -> TrainingJobRecord | None:
        """The job of that name in any region (the first created, if several)."""
        with self.lock:
            matches = [r for (_, n), r in self._jobs.items() if n == name.lower()]
            return min(matches, key=lambda r: r.creation_time) if matches else None

    def in_region(self, region: str) -> list[TrainingJobRecord]:
        with self.lock:
            return [r for (reg, _), r in self._jobs.items() if reg == region]

    def all(self) -> list[TrainingJobRecord]:
        with self.lock:
            return sorted(self._jobs.values(), key=lambda r: r.creation_time)

    def update(
        self, record: TrainingJobRecord, change: Callable[[TrainingJobRecord], None]
    ) -> None:
        """Apply ``change`` to ``record`` under the lock and wake whoever waits on the store."""
        with self.lock:
            change(record)
            self.changed.notify_all()

    def wait_until(self, predicate: Callable[[], bool], timeout: float | None) -> bool:
        """Block until ``predicate()`` holds (checked under the lock); False on timeout."""
        with self.lock:
            return self.changed.wait_for(predicate, timeout)

    def wait_for_ends(self, names: Sequence[str], timeout: float | None) -> list[FakeTrainingJob]:
        """Block until the named jobs (all jobs if none is named) are terminal; their
        snapshots. ``TimeoutError`` after ``timeout`` seconds."""
        wanted = {n.lower() for n in names}

        def selected() -> list[TrainingJobRecord]:
            return [r for r in self.all() if not wanted or r.name.lower() in wanted]

        def done() -> bool:
            records = selected()
            if wanted and len({r.name.lower() for r in records}) < len(wanted):
                return False
            return all(r.status.is_terminal for r in records)

        if not self.wait_until(done, timeout):
            busy = [r.name for r in selected() if not r.status.is_terminal]
            raise TimeoutError(f"Jobs still running after {timeout} seconds: {busy}")
        with self.lock:
            return [self.snapshot(r) for r in selected()]

    @staticmethod
    def snapshot(record: TrainingJobRecord) -> FakeTrainingJob:
        return FakeTrainingJob(
            name=record.name,
            region=record.region,
            status=record.status,
            secondary_status=record.secondary_status,
            hyperparameters=record.hyperparameters,
            final_metrics={k: v.value for k, v in record.final_metrics.items()},
            failure_reason=record.failure_reason,
            creation_time=datetime.fromtimestamp(record.creation_time, UTC),
            start_time=_datetime(record.training_start_time),
            end_time=_datetime(record.training_end_time),
            log_stream=record.log_stream,
            work_dir=record.work_dir,
            pid=record.pid,
            exit_code=record.exit_code,
            stop_cause=record.stop_cause,
        )
