"""A fake account's training jobs on disk, so a dry run remembers them across restarts.

A dry run's fake-AWS service keeps its jobs in memory, as SageMaker keeps them in the
cloud. For a kept study to be resumed after the service ended (idle, stopped, killed, or
the machine restarted), the service writes each job to ``<state dir>/jobs/<name>.json``
whenever the job changes, and a service started later in the same directory reads them
back: DescribeTrainingJob and ListTrainingJobs answer for them as before, with their final
metrics, so the resumed study collects their results instead of calling them lost.

A job that was still running when its service ended cannot be finished: it comes back
``Failed`` with :data:`LOST_REASON`, an internal error of the (fake) service, which the
study retries as it retries SageMaker's own failures. What the jobs wrote to the fake S3
and CloudWatch Logs is kept beside them (:mod:`byohpo.fake._kept_data`).

Each file is replaced atomically (a reader sees the old version or the new one).
"""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from byohpo.fake._faults import FailureKind, JobFate
from byohpo.fake._training_jobs import (
    MetricValue,
    SecondaryStatus,
    StopCause,
    TrainingJobRecord,
    WarmPoolState,
)

log = logging.getLogger(__name__)

LOST_REASON = (
    "InternalServerError: the fake AWS of this dry run ended while the job ran (its service "
    "was stopped or killed, or the machine restarted); the job's work is lost."
)
"""The failure reason of a remembered job that was running when its service ended."""

FORMAT = 1


def record_to_json(record: TrainingJobRecord) -> dict[str, Any]:
    """Everything a job's DescribeTrainingJob and ListTrainingJobs answers are made from."""
    return {
        "format": FORMAT,
        "name": record.name,
        "arn": record.arn,
        "region": record.region,
        "request": record.request,
        "creation_time": record.creation_time,
        "fate": {
            "failure": None if record.fate.failure is None else str(record.fate.failure),
            "extra_start_seconds": record.fate.extra_start_seconds,
            "metrics_missing": record.fate.metrics_missing,
        },
        "tags": record.tags,
        "secondary_status": str(record.secondary_status),
        "transitions": record.transitions,
        "last_modified_time": record.last_modified_time,
        "training_start_time": record.training_start_time,
        "training_end_time": record.training_end_time,
        "failure_reason": record.failure_reason,
        "model_artifacts": record.model_artifacts,
        "final_metrics": {
            name: [metric.value, metric.timestamp] for name, metric in record.final_metrics.items()
        },
        "stop_cause": None if record.stop_cause is None else str(record.stop_cause),
        "warm_start": record.warm_start,
        "warm_pool_state": None if record.warm_pool_state is None else str(record.warm_pool_state),
        "warm_pool_since": record.warm_pool_since,
        "warm_pool_retained_seconds": record.warm_pool_retained_seconds,
        "warm_pool_reused_by": record.warm_pool_reused_by,
        "log_stream": record.log_stream,
        "exit_code": record.exit_code,
    }


def record_from_json(data: dict[str, Any]) -> TrainingJobRecord:
    """The job :func:`record_to_json` wrote (without its process: it ran in another)."""
    fate = data.get("fate") or {}
    return TrainingJobRecord(
        name=data["name"],
        arn=data["arn"],
        region=data["region"],
        request=dict(data["request"]),
        creation_time=float(data["creation_time"]),
        fate=JobFate(
            failure=None if fate.get("failure") is None else FailureKind(fate["failure"]),
            extra_start_seconds=float(fate.get("extra_start_seconds", 0.0)),
            metrics_missing=bool(fate.get("metrics_missing", False)),
        ),
        tags=dict(data.get("tags") or {}),
        secondary_status=SecondaryStatus(data["secondary_status"]),
        transitions=[dict(t) for t in data.get("transitions") or []],
        last_modified_time=float(data.get("last_modified_time") or 0.0),
        training_start_time=data.get("training_start_time"),
        training_end_time=data.get("training_end_time"),
        failure_reason=data.get("failure_reason"),
        model_artifacts=data.get("model_artifacts"),
        final_metrics={
            name: MetricValue(float(value), float(timestamp))
            for name, (value, timestamp) in (data.get("final_metrics") or {}).items()
        },
        stop_cause=None if data.get("stop_cause") is None else StopCause(data["stop_cause"]),
        warm_start=bool(data.get("warm_start", False)),
        warm_pool_state=(
            None if data.get("warm_pool_state") is None else WarmPoolState(data["warm_pool_state"])
        ),
        warm_pool_since=float(data.get("warm_pool_since") or 0.0),
        warm_pool_retained_seconds=int(data.get("warm_pool_retained_seconds") or 0),
        warm_pool_reused_by=data.get("warm_pool_reused_by"),
        log_stream=data.get("log_stream"),
        exit_code=data.get("exit_code"),
    )


class JobJournal:
    """The jobs of one fake account, one JSON file each, in ``directory``. Not thread-safe:
    one caller (the service's watch loop) writes it."""

    def __init__(self, directory: str | os.PathLike[str]) -> None:
        self.directory = Path(directory)
        self._written: dict[str, str] = {}

    def _path(self, record_key: str) -> Path:
        return self.directory / f"{record_key}.json"

    @staticmethod
    def _key(region: str, name: str) -> str:
        return f"{region}--{name.lower()}"

    def save(self, records: Iterable[TrainingJobRecord]) -> int:
        """Write every job that changed since it was last written; returns how many."""
        self.directory.mkdir(parents=True, exist_ok=True)
        written = 0
        for record in records:
            key = self._key(record.region, record.name)
            text = json.dumps(record_to_json(record), separators=(",", ":"))
            if self._written.get(key) == text:
                continue
            path = self._path(key)
            partial = path.with_suffix(f".{os.getpid()}.tmp")
            partial.write_text(text + "\n")
            os.replace(partial, path)
            self._written[key] = text
            written += 1
        return written

    def load(self) -> list[TrainingJobRecord]:
        """Every job written here, oldest first; one that had not ended comes back failed
        with :data:`LOST_REASON`. An unreadable file is skipped with a warning."""
        records: list[TrainingJobRecord] = []
        now = time.time()
        for path in sorted(self.directory.glob("*.json")):
            try:
                record = record_from_json(json.loads(path.read_text()))
            except (OSError, ValueError, KeyError, TypeError) as exc:
                log.warning("skipping the unreadable job record %s: %s", path, exc)
                continue
            if not record.status.is_terminal:
                record.stop_cause = None
                record.finish(SecondaryStatus.FAILED, now, LOST_REASON)
            records.append(record)
        return sorted(records, key=lambda r: r.creation_time)
