"""The kinds of event a study's log holds: one frozen dataclass per kind, named in ``KIND``.

What each kind means, and how events are turned into JSON and back, is in
:mod:`byohpo.study._events` (which re-exports these types: import them from there).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, ClassVar


@dataclass(frozen=True)
class Event:
    """One line of the log. Subclasses name their kind in ``KIND``."""

    KIND: ClassVar[str] = ""
    time: float | None = field(default=None, kw_only=True)


@dataclass(frozen=True)
class StudyDefined(Event):
    """The study's definition: everything needed to resume it, and its id."""

    KIND: ClassVar[str] = "study"
    definition: Mapping[str, Any]

    @property
    def name(self) -> str:
        return str(self.definition.get("name", ""))

    @property
    def study_id(self) -> str | None:
        value = self.definition.get("study_id")
        return None if value is None else str(value)

    @property
    def format(self) -> int:
        return int(self.definition.get("format", 1))


@dataclass(frozen=True)
class StrategyCheckpoint(Event):
    """The strategy's whole state; a resume restores the last and replays what followed."""

    KIND: ClassVar[str] = "strategy"
    snapshot: Mapping[str, Any]


@dataclass(frozen=True)
class TrialSpec:
    """A trial as planned: what it evaluates and the job that evaluates it."""

    trial_id: int
    config: Mapping[str, Any]
    hyperparameters: Mapping[str, str]
    generation: int = 0
    job_name: str | None = None
    parent_id: int | None = None
    duplicate_of: int | None = None
    retry_of: int | None = None
    instance_type: str | None = None
    instance_count: int = 1
    extra: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class TrialsAsked(Event):
    """Trials planned together. ``asked`` is the ``n`` of the strategy's ``ask(n)`` (None when
    byohpo planned them itself, as a retry); ``snapshot`` is only read from format-1 logs."""

    KIND: ClassVar[str] = "asked"
    trials: tuple[TrialSpec, ...]
    asked: int | None = None
    snapshot: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class TrialAdopted(Event):
    """A trial whose job someone else created; byohpo records it, polls it, never launches it.

    ``created_by`` says who (``"sagemaker tuning job NAME"``, ...).
    """

    KIND: ClassVar[str] = "adopted"
    trial: TrialSpec
    created_by: str


@dataclass(frozen=True)
class JobSubmitted(Event):
    KIND: ClassVar[str] = "submitted"
    trial_id: int
    job_name: str | None = None


@dataclass(frozen=True)
class StatusSeen(Event):
    KIND: ClassVar[str] = "status"
    trial_id: int
    status: str
    secondary_status: str | None = None
    start_time: str | None = None


@dataclass(frozen=True)
class ResultRecorded(Event):
    KIND: ClassVar[str] = "result"
    trial_id: int
    status: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    failure_reason: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    billable_seconds: float | None = None


@dataclass(frozen=True)
class DuplicateAnswered(ResultRecorded):
    """A trial answered from an earlier trial with the same job: no job of its own."""

    KIND: ClassVar[str] = "duplicate"


@dataclass(frozen=True)
class CheckpointCopied(Event):
    KIND: ClassVar[str] = "checkpoint"
    trial_id: int
    parent_id: int | None = None
    source_job: str | None = None
    source_uri: str | None = None
    target_uri: str | None = None
    objects: int | None = None


@dataclass(frozen=True)
class LaunchLimited(Event):
    KIND: ClassVar[str] = "launch_limit"
    limit: int
    reason: str = ""


@dataclass(frozen=True)
class TrialsTold(Event):
    """Trials whose results the strategy was told, in order (``snapshot``: format 1 only)."""

    KIND: ClassVar[str] = "told"
    trial_ids: tuple[int, ...]
    snapshot: Mapping[str, Any] | None = None


@dataclass(frozen=True)
class StudyFinished(Event):
    KIND: ClassVar[str] = "finished"
    reason: str


@dataclass(frozen=True)
class StudyInterrupted(Event):
    KIND: ClassVar[str] = "interrupted"
    reason: str
    jobs: str = "kept"
    in_flight: int = 0
    job_names: tuple[str, ...] = ()


@dataclass(frozen=True)
class CurveRead(Event):
    """New points of a running job's learning curve: ``(point, seconds, value)`` triples,
    only what this read added (see :mod:`byohpo.study._early_stopping`)."""

    KIND: ClassVar[str] = "curve"
    trial_id: int
    metric: str
    points: tuple[tuple[int, float, float], ...]


@dataclass(frozen=True)
class EarlyStopped(Event):
    """A stopping rule decided to stop a trial's job: recorded before StopTrainingJob."""

    KIND: ClassVar[str] = "early_stop"
    trial_id: int
    job_name: str | None
    rule: str
    metric: str
    point: int
    value: float
    seconds: float | None = None
    reason: str = ""


@dataclass(frozen=True)
class EarlyStoppingBlind(Event):
    """The first jobs ended without one intermediate value: the rule cannot judge them."""

    KIND: ClassVar[str] = "early_stopping_blind"
    message: str


@dataclass(frozen=True)
class TuningJobCreated(Event):
    """A ``sagemaker:`` strategy's HyperParameterTuningJob: recorded before it is created."""

    KIND: ClassVar[str] = "tuning_job"
    name: str
    strategy: str


@dataclass(frozen=True)
class WarmStarted(Event):
    """Earlier studies' (or tuning jobs') completed trials, told to the strategy before its
    first ask: ``sources`` says per source how many were used and why others were left
    out, ``trials`` holds each used ``[config, metrics]``, ``used`` how many the strategy
    took (see :mod:`byohpo.study._warm_start`)."""

    KIND: ClassVar[str] = "warm_start"
    sources: tuple[Mapping[str, Any], ...]
    trials: tuple[tuple[Mapping[str, Any], Mapping[str, float]], ...] = ()
    used: int = 0


KINDS: dict[str, type[Event]] = {
    cls.KIND: cls
    for cls in (
        StudyDefined,
        StrategyCheckpoint,
        TrialsAsked,
        TrialAdopted,
        JobSubmitted,
        StatusSeen,
        ResultRecorded,
        DuplicateAnswered,
        CheckpointCopied,
        LaunchLimited,
        TrialsTold,
        StudyFinished,
        StudyInterrupted,
        CurveRead,
        EarlyStopped,
        EarlyStoppingBlind,
        TuningJobCreated,
        WarmStarted,
    )
}
