"""The study's memory: an append-only, fsync'd log of events.

One JSON object a line. The tuner writes an event *before* it acts on it
(a trial is recorded as planned before its job is created), so after a crash
the log says everything that may have been launched. Reading tolerates a torn
last line (a crash mid-write): it is ignored, and the next append starts on a
fresh line.

Events (``"event"`` key):

``study``      the study's definition (written once, first)
``asked``      trials the strategy proposed (id, configuration, hyperparameters,
               generation, job name, ``duplicate_of``/``retry_of``) together with the
               strategy's snapshot after proposing them: one line, so a crash keeps
               both or neither
``submitted``  its job was created (or adopted)
``status``     a status change seen by a poll
``result``     the job ended: status, metrics, failure reason, times, billable seconds
``duplicate``  a trial answered from an earlier trial with the same hyperparameters
``checkpoint`` a parent's checkpoint was copied to where the trial's job starts from it
               (source job and location, target location, objects copied)
``launch_limit`` SageMaker had no capacity; how many jobs are launched at once for now
``told``       trial ids whose results the strategy has seen, with its snapshot after them
``finished``   the study ended, and why
``interrupted`` the run was interrupted, and what became of the jobs in flight

A local directory is the default; ``s3://bucket/prefix`` keeps the log in S3
for a run inside a SageMaker job or pipeline step (rewritten whole on each
append batch, which is fine for the few thousand lines of a study).
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from byohpo.errors import StoreError

LOG_NAME = "events.jsonl"
FORMAT_VERSION = 1


class EventLog(Protocol):
    """Where a study's events are kept. Appends are durable when ``append`` returns."""

    location: str

    def append(self, events: Iterable[Mapping[str, Any]]) -> None: ...

    def read(self) -> list[dict[str, Any]]: ...

    def exists(self) -> bool: ...


def _parse_lines(text: str, where: str) -> list[dict[str, Any]]:
    lines = text.split("\n")
    events: list[dict[str, Any]] = []
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            if number >= len(lines) - 1:  # the last line: torn by a crash mid-write
                break
            raise StoreError(f"{where}: line {number} is not JSON; the log is damaged") from None
        events.append(event)
    return events


def _dump(event: Mapping[str, Any]) -> str:
    return json.dumps(event, separators=(",", ":"), allow_nan=False)  # keeps the space's order


def _cut_torn_tail(f: Any) -> None:
    """Drop a last line left half-written by a crash, so the next event starts on its own line."""
    end = f.seek(0, os.SEEK_END)
    if end == 0:
        return
    f.seek(end - 1)
    if f.read(1) == b"\n":
        return
    position = end
    while position > 0:
        step = min(4096, position)
        position -= step
        f.seek(position)
        chunk = f.read(step)
        newline = chunk.rfind(b"\n")
        if newline >= 0:
            f.truncate(position + newline + 1)
            return
    f.truncate(0)


class LocalEventLog:
    """A JSON-lines file, appended under a lock and fsync'd. Thread-safe within a process."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self.path = self.directory / LOG_NAME
        self.location = str(self.directory)
        self._lock = threading.Lock()

    def exists(self) -> bool:
        return self.path.exists()

    def append(self, events: Iterable[Mapping[str, Any]]) -> None:
        text = "".join(_dump(e) + "\n" for e in events)
        if not text:
            return
        with self._lock:
            self.directory.mkdir(parents=True, exist_ok=True)
            with open(self.path, "ab+") as f:
                _cut_torn_tail(f)
                f.write(text.encode())
                f.flush()
                os.fsync(f.fileno())

    def read(self) -> list[dict[str, Any]]:
        if not self.path.exists():
            return []
        return _parse_lines(self.path.read_text(), str(self.path))


class S3EventLog:
    """The log as one S3 object, rewritten on each append (S3 has no append)."""

    def __init__(self, uri: str, client: Any = None) -> None:
        if not uri.startswith("s3://"):
            raise StoreError(f"an S3 store location starts with s3://, but got {uri!r}")
        bucket, _, prefix = uri[5:].partition("/")
        self.bucket = bucket
        self.key = f"{prefix.rstrip('/')}/{LOG_NAME}" if prefix else LOG_NAME
        self.location = uri
        self._client = client
        self._lock = threading.Lock()
        self._cache: str | None = None

    @property
    def client(self) -> Any:
        if self._client is None:
            import boto3

            self._client = boto3.client("s3")
        return self._client

    def _fetch(self) -> str:
        if self._cache is None:
            try:
                body = self.client.get_object(Bucket=self.bucket, Key=self.key)["Body"]
                self._cache = body.read().decode()
            except self.client.exceptions.NoSuchKey:
                self._cache = ""
            except self.client.exceptions.ClientError as exc:
                # S3 answers 403, not 404, for a missing key unless the caller may list the
                # whole bucket; a role that may list only the study's prefix asks that way.
                if exc.response.get("Error", {}).get("Code") not in ("AccessDenied", "403"):
                    raise
                listed = self.client.list_objects_v2(Bucket=self.bucket, Prefix=self.key)
                if any(o.get("Key") == self.key for o in listed.get("Contents", [])):
                    raise
                self._cache = ""
        return self._cache

    def exists(self) -> bool:
        return bool(self._fetch())

    def append(self, events: Iterable[Mapping[str, Any]]) -> None:
        text = "".join(_dump(e) + "\n" for e in events)
        if not text:
            return
        with self._lock:
            current = self._fetch()
            if current and not current.endswith("\n"):
                current = current[: current.rfind("\n") + 1]  # a torn last line
            new = current + text
            self.client.put_object(Bucket=self.bucket, Key=self.key, Body=new.encode())
            self._cache = new

    def read(self) -> list[dict[str, Any]]:
        self._cache = None
        return _parse_lines(self._fetch(), self.location)


class MemoryEventLog:
    """The log kept in this process's memory: not durable, gone when the process ends.

    For simulations and tests. A study on :class:`~byohpo.simulator.Simulator`
    records tens of thousands of events in seconds; an fsync'd file would
    take longer than the simulation, and so would turning each event into
    JSON and back, so events are kept as given. Only the latest strategy
    snapshot is kept (the one a replay restores; each is several kilobytes
    and a study writes one per result).
    """

    def __init__(self, location: str = "memory") -> None:
        self.location = location
        self._events: list[dict[str, Any]] = []
        self._last_snapshot: int | None = None  # the event holding the latest snapshot

    def exists(self) -> bool:
        return bool(self._events)

    def append(self, events: Iterable[Mapping[str, Any]]) -> None:
        for event in events:
            kept = dict(event)
            if kept.get("snapshot") is not None:
                if self._last_snapshot is not None:
                    self._events[self._last_snapshot]["snapshot"] = None
                self._last_snapshot = len(self._events)
            self._events.append(kept)

    def read(self) -> list[dict[str, Any]]:
        return [dict(e) for e in self._events]


def open_log(location: str | os.PathLike[str]) -> EventLog:
    """The event log at a local directory or an ``s3://`` prefix."""
    text = str(location)
    if text.startswith("s3://"):
        return S3EventLog(text)
    return LocalEventLog(text)


@dataclass
class TrialRecord:
    """Everything known of one trial, rebuilt from the log."""

    trial_id: int
    config: dict[str, Any]
    hyperparameters: dict[str, str]
    generation: int
    job_name: str | None
    parent_id: int | None = None
    duplicate_of: int | None = None
    retry_of: int | None = None
    submitted: bool = False
    status: str = "Planned"
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


@dataclass
class StudyLog:
    """A replayed log: the study definition, its trials, the strategy's last snapshot."""

    study: dict[str, Any]
    trials: dict[int, TrialRecord]
    snapshot: dict[str, Any] | None
    finished: dict[str, Any] | None
    interruptions: list[dict[str, Any]]
    events: list[dict[str, Any]]
    result_order: list[int] = field(default_factory=list)
    """Trial ids in the order their results were recorded (the order they are told)."""

    @property
    def name(self) -> str:
        return str(self.study.get("name", ""))


def replay(events: Iterable[Mapping[str, Any]]) -> StudyLog:
    """Rebuild the study's state from its events, in order. Unknown events are skipped."""
    study: dict[str, Any] = {}
    trials: dict[int, TrialRecord] = {}
    snapshot: dict[str, Any] | None = None
    finished: dict[str, Any] | None = None
    interruptions: list[dict[str, Any]] = []
    kept: list[dict[str, Any]] = []
    result_order: list[int] = []
    for event in events:
        kind = event.get("event")
        kept.append(dict(event))
        if kind == "study":
            study = dict(event)
            finished = None
        elif kind == "asked":
            for spec in event.get("trials", []):
                tid = int(spec["trial_id"])
                trials[tid] = TrialRecord(
                    trial_id=tid,
                    config=dict(spec["config"]),
                    hyperparameters=dict(spec["hyperparameters"]),
                    generation=int(spec.get("generation", 0)),
                    job_name=spec.get("job_name"),
                    parent_id=spec.get("parent_id"),
                    duplicate_of=spec.get("duplicate_of"),
                    retry_of=spec.get("retry_of"),
                    instance_type=spec.get("instance_type"),
                    instance_count=int(spec.get("instance_count", 1)),
                    extra=dict(spec.get("extra", {})),
                )
            if event.get("snapshot") is not None:
                snapshot = event["snapshot"]
        elif (
            kind in ("submitted", "status", "result", "duplicate")
            and int(event["trial_id"]) in trials
        ):
            record = trials[int(event["trial_id"])]
            if kind == "submitted":
                record.submitted = True
                if record.status == "Planned":
                    record.status = "InProgress"
            elif kind == "status":
                record.status = event["status"]
                record.secondary_status = event.get("secondary_status")
                record.start_time = event.get("start_time") or record.start_time
            else:
                if not record.has_result:
                    result_order.append(record.trial_id)
                record.has_result = True
                record.status = event["status"]
                record.metrics = dict(event.get("metrics") or {})
                record.failure_reason = event.get("failure_reason")
                record.start_time = event.get("start_time") or record.start_time
                record.end_time = event.get("end_time")
                record.billable_seconds = event.get("billable_seconds")
        elif kind == "checkpoint" and int(event["trial_id"]) in trials:
            trials[int(event["trial_id"])].extra["checkpoint"] = {
                key: event.get(key) for key in ("source_job", "source_uri", "target_uri", "objects")
            }
        elif kind == "told":
            for tid in event.get("trial_ids", []):
                if int(tid) in trials:
                    trials[int(tid)].told = True
            if event.get("snapshot") is not None:
                snapshot = event["snapshot"]
        elif kind == "finished":
            finished = dict(event)
        elif kind == "interrupted":
            interruptions.append(dict(event))
    return StudyLog(study, trials, snapshot, finished, interruptions, kept, result_order)


class Store:
    """A study's event log with the operations the tuner needs.

    Durable: every ``record`` call is on disk (or in S3) when it returns.
    """

    def __init__(self, location: str | os.PathLike[str] | EventLog) -> None:
        self.log: EventLog = (
            location if not isinstance(location, str | os.PathLike) else open_log(location)
        )

    @property
    def location(self) -> str:
        return self.log.location

    def exists(self) -> bool:
        return self.log.exists()

    def record(self, *events: Mapping[str, Any]) -> None:
        self.log.append(events)

    def load(self) -> StudyLog:
        return replay(self.log.read())

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return iter(self.log.read())
