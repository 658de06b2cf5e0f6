"""Training-job states as SageMaker reports them, and what the tuner launches."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from types import MappingProxyType


class JobStatus(StrEnum):
    """``TrainingJobStatus`` of SageMaker's API."""

    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"

    @property
    def is_terminal(self) -> bool:
        return self in (JobStatus.COMPLETED, JobStatus.FAILED, JobStatus.STOPPED)

    @property
    def is_busy(self) -> bool:
        """Occupies an instance slot (a ``Stopping`` job still does)."""
        return not self.is_terminal


class TrialStatus(StrEnum):
    """Where a trial stands in a study's record: planned, or its job's ``TrainingJobStatus``."""

    PLANNED = "Planned"
    """Recorded, its job not created yet (or answered as a duplicate)."""
    IN_PROGRESS = "InProgress"
    COMPLETED = "Completed"
    FAILED = "Failed"
    STOPPING = "Stopping"
    STOPPED = "Stopped"


class Mode(StrEnum):
    """How the tuner launches jobs: a generation at a time, or a job as soon as a slot frees."""

    GENERATIONAL = "generational"
    ASYNC = "async"


class JobPlace(StrEnum):
    """Where a study's training jobs run, as the study records it (``jobs_run_in``)."""

    AWS = "aws"
    """In an AWS account: billed, with console pages and logs there."""
    FAKE_AWS = "fake-aws"
    """In a dry run's fake AWS on this machine (``byohpo run --dry-run``, ``FakeSageMaker``)."""
    VIRTUAL = "virtual"
    """Nowhere: the simulator's jobs live in virtual time."""

    @classmethod
    def recorded(cls, study: Mapping[str, object]) -> JobPlace:
        """Where the jobs of a recorded study (its ``study`` event) run.

        Studies recorded before ``jobs_run_in`` existed named their backend's class
        instead; those two names are read here, once, so nothing else has to.
        """
        value = study.get("jobs_run_in")
        if isinstance(value, str):
            return cls(value)
        legacy = {"FakeSageMaker": cls.FAKE_AWS, "Simulator": cls.VIRTUAL}
        return legacy.get(str(study.get("backend")), cls.AWS)


_EMPTY: Mapping[str, float] = MappingProxyType({})


@dataclass(frozen=True)
class LaunchRequest:
    """One trial to launch as a training job."""

    trial_id: int
    hyperparameters: Mapping[str, str]
    """Every hyperparameter as the string the job receives (tuned and static)."""
    checkpoint_s3_uri: str | None = None
    """Overrides the template's checkpoint location (a population member's own prefix)."""


@dataclass(frozen=True)
class CheckpointCopy:
    """A parent job's last checkpoint, copied whole to where a new job starts from it."""

    source_job: str
    source_uri: str
    """The parent job's checkpoint location (its ``CheckpointConfig.S3Uri``)."""
    target_uri: str
    """The new job's checkpoint location, holding a copy of every object of the source."""
    keys: tuple[str, ...]
    """The objects copied, relative to the locations."""


@dataclass(frozen=True)
class JobState:
    """What SageMaker says of one training job at one moment.

    ``metrics``, ``failure_reason`` and ``billable_seconds`` are filled once
    the job is terminal (from one DescribeTrainingJob).
    """

    job_name: str
    status: JobStatus
    secondary_status: str | None = None
    trial_id: int | None = None
    metrics: Mapping[str, float] = field(default_factory=lambda: _EMPTY)
    failure_reason: str | None = None
    creation_time: datetime | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None
    billable_seconds: int | None = None
    training_seconds: int | None = None
    warm_pool_status: str | None = None
