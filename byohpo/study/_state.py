"""The study's state, and the one function that applies an event to it.

The loop writes an event and then applies it with :func:`apply`; a replay of the
log applies the same events with the same function. So the state a running study
holds and the state a resume (or ``byohpo results``) rebuilds cannot disagree.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, overload

from byohpo.study._events import (
    CheckpointCopied,
    CurveRead,
    EarlyStopped,
    Event,
    JobSubmitted,
    LaunchLimited,
    ResultRecorded,
    StatusSeen,
    StrategyCheckpoint,
    StudyDefined,
    StudyFinished,
    StudyInterrupted,
    TrialAdopted,
    TrialsAsked,
    TrialSpec,
    TrialsTold,
    decode,
    encode,
)
from byohpo.trial import TrialStatus


@dataclass
class TrialRecord:
    """Everything known of one trial."""

    trial_id: int
    config: dict[str, Any]
    hyperparameters: dict[str, str]
    generation: int
    job_name: str | None
    parent_id: int | None = None
    duplicate_of: int | None = None
    retry_of: int | None = None
    submitted: bool = False
    status: TrialStatus = TrialStatus.PLANNED
    secondary_status: str | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    failure_reason: str | None = None
    start_time: str | None = None
    end_time: str | None = None
    billable_seconds: float | None = None
    instance_type: str | None = None
    instance_count: int = 1
    told: bool = False
    has_result: bool = False
    extra: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def planned(cls, spec: TrialSpec) -> TrialRecord:
        return cls(
            trial_id=spec.trial_id,
            config=dict(spec.config),
            hyperparameters=dict(spec.hyperparameters),
            generation=spec.generation,
            job_name=spec.job_name,
            parent_id=spec.parent_id,
            duplicate_of=spec.duplicate_of,
            retry_of=spec.retry_of,
            instance_type=spec.instance_type,
            instance_count=spec.instance_count,
            extra=dict(spec.extra),
        )

    def spec(self) -> TrialSpec:
        return TrialSpec(
            trial_id=self.trial_id,
            config=dict(self.config),
            hyperparameters=dict(self.hyperparameters),
            generation=self.generation,
            job_name=self.job_name,
            parent_id=self.parent_id,
            duplicate_of=self.duplicate_of,
            retry_of=self.retry_of,
            instance_type=self.instance_type,
            instance_count=self.instance_count,
            extra=dict(self.extra),
        )


@dataclass(frozen=True)
class Asked:
    """The strategy was asked for ``n`` configurations and proposed ``trial_ids``."""

    n: int
    trial_ids: tuple[int, ...]


@dataclass(frozen=True)
class Told:
    """The strategy was told these trials' results, in this order."""

    trial_ids: tuple[int, ...]


class EventList(Sequence[dict[str, Any]]):
    """The log's events as JSON objects, made when asked for (a resume needs none of them).

    Wraps the events as read (typed, or JSON objects of kinds this byohpo does not know)
    without a second copy of them: each object is encoded afresh when it is read.
    """

    def __init__(self, items: Sequence[Event | Mapping[str, Any]] = ()) -> None:
        self._items = items

    def __len__(self) -> int:
        return len(self._items)

    @overload
    def __getitem__(self, index: int) -> dict[str, Any]: ...
    @overload
    def __getitem__(self, index: slice) -> list[dict[str, Any]]: ...
    def __getitem__(self, index: int | slice) -> dict[str, Any] | list[dict[str, Any]]:
        if isinstance(index, slice):
            return [_json(item) for item in self._items[index]]
        return _json(self._items[index])

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return (_json(item) for item in self._items)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Sequence):
            return list(self) == list(other)
        return NotImplemented

    def __repr__(self) -> str:
        return f"EventList({len(self)} events)"


def _json(item: Event | Mapping[str, Any]) -> dict[str, Any]:
    return encode(item) if isinstance(item, Event) else dict(item)


@dataclass
class StudyLog:
    """A study's state: its definition, its trials, the strategy's last checkpoint and what
    the strategy was asked and told since (to replay on resume), and how the study ended."""

    study: dict[str, Any] = field(default_factory=dict)
    trials: dict[int, TrialRecord] = field(default_factory=dict)
    snapshot: dict[str, Any] | None = None
    """The strategy's last checkpoint."""
    since_snapshot: list[Asked | Told] = field(default_factory=list)
    """What the strategy was asked and told after its last checkpoint, in order."""
    finished: dict[str, Any] | None = None
    interruptions: list[dict[str, Any]] = field(default_factory=list)
    events: Sequence[dict[str, Any]] = field(default_factory=EventList)
    """Every event read, as JSON objects (made when read; see :class:`EventList`)."""
    stopping: list[CurveRead | EarlyStopped] = field(default_factory=list)
    """The curves read and the jobs stopped early, in order (what early stopping and the
    results' stopping columns and curves need of the log)."""
    result_order: list[int] = field(default_factory=list)
    """Trial ids in the order their results were recorded (the order they are told)."""
    launch_limit: int | None = None
    damage: list[str] = field(default_factory=list)
    """What could not be read, line by line (see :mod:`byohpo.study._damage`)."""

    def stopping_events(self) -> list[dict[str, Any]]:
        """The ``curve`` and ``early_stop`` events' JSON objects, in order."""
        return [encode(e) for e in self.stopping]

    @property
    def name(self) -> str:
        return str(self.study.get("name", ""))

    @property
    def study_id(self) -> str | None:
        value = self.study.get("study_id")
        return None if value is None else str(value)


StudyState = StudyLog


def _checkpoint(state: StudyLog, snapshot: Mapping[str, Any]) -> None:
    state.snapshot = dict(snapshot)
    state.since_snapshot = []


def apply(state: StudyLog, event: Event) -> None:
    """Change ``state`` as ``event`` says. Events about unknown trials change nothing."""
    if isinstance(event, _TRIAL_EVENTS):  # most events (a replay's hot path: tested first)
        _apply_to_trial(state, event)
    elif isinstance(event, StudyDefined):
        state.study = {**dict(event.definition), "event": "study", "time": event.time}
        state.finished = None
    elif isinstance(event, StrategyCheckpoint):
        _checkpoint(state, event.snapshot)
    elif isinstance(event, TrialsAsked):
        for spec in event.trials:
            state.trials[spec.trial_id] = TrialRecord.planned(spec)
        if event.snapshot is not None:
            _checkpoint(state, event.snapshot)
        elif event.asked is not None:
            state.since_snapshot.append(Asked(event.asked, tuple(s.trial_id for s in event.trials)))
    elif isinstance(event, TrialAdopted):
        record = TrialRecord.planned(event.trial)
        record.extra["created_by"] = event.created_by
        record.submitted = True
        record.status = TrialStatus.IN_PROGRESS
        state.trials[record.trial_id] = record
    elif isinstance(event, TrialsTold):
        for tid in event.trial_ids:
            if tid in state.trials:
                state.trials[tid].told = True
        if event.snapshot is not None:
            _checkpoint(state, event.snapshot)
        else:
            state.since_snapshot.append(Told(event.trial_ids))
    elif isinstance(event, StudyFinished):
        state.finished = {"event": "finished", "reason": event.reason, "time": event.time}
    elif isinstance(event, StudyInterrupted):
        state.interruptions.append(encode(event))
    elif isinstance(event, LaunchLimited):
        state.launch_limit = event.limit
    elif isinstance(event, CurveRead | EarlyStopped):
        state.stopping.append(event)


_TRIAL_EVENTS = (StatusSeen, JobSubmitted, ResultRecorded, CheckpointCopied)


def _apply_to_trial(state: StudyLog, event: Event) -> None:
    record = state.trials.get(getattr(event, "trial_id", -1))
    if record is None:
        return
    if isinstance(event, StatusSeen):
        record.status = TrialStatus(event.status)
        record.secondary_status = event.secondary_status
        record.start_time = event.start_time or record.start_time
    elif isinstance(event, JobSubmitted):
        record.submitted = True
        if event.job_name is not None:
            record.job_name = event.job_name
        if record.status is TrialStatus.PLANNED:
            record.status = TrialStatus.IN_PROGRESS
    elif isinstance(event, ResultRecorded):  # a job's result, or a duplicate's answer
        if not record.has_result:
            state.result_order.append(record.trial_id)
        record.has_result = True
        record.status = TrialStatus(event.status)
        record.metrics = dict(event.metrics)
        record.failure_reason = event.failure_reason
        record.start_time = event.start_time or record.start_time
        record.end_time = event.end_time
        record.billable_seconds = event.billable_seconds
    elif isinstance(event, CheckpointCopied):
        record.extra["checkpoint"] = {
            "source_job": event.source_job,
            "source_uri": event.source_uri,
            "target_uri": event.target_uri,
            "objects": event.objects,
        }


def replay(events: Iterable[Mapping[str, Any] | Event]) -> StudyLog:
    """The state after ``events``, in order (JSON objects or events; unknown kinds skipped).

    ``state.events`` gives them back as JSON objects (typed events are encoded when read).
    """
    state = StudyLog()
    items = list(events)
    for number, item in enumerate(items, start=1):
        event = item if isinstance(item, Event) else decode(item, f"event {number}")
        if event is not None:
            apply(state, event)
    state.events = EventList(items)
    return state
