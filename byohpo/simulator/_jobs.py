"""One simulated training job: its whole timeline, planned when it is created.

A job's secondary statuses (``Starting``, ``Downloading``, ``Training``,
``Uploading``, and ``Interrupted`` on spot) are laid out in virtual time when
the job is created, so its state at any moment is a lookup, whatever the
number of polls. Only a stop changes the plan (the job is cut short).
"""

from __future__ import annotations

import math
import random
from bisect import bisect_right
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from byohpo.simulator._latency import SpotMarket, StartupModel
from byohpo.simulator._problems import Outcome
from byohpo.trial import JobState, JobStatus

STARTING = "Starting"
DOWNLOADING = "Downloading"
TRAINING = "Training"
UPLOADING = "Uploading"
INTERRUPTED = "Interrupted"
STOPPING = "Stopping"

_BILLED = frozenset({DOWNLOADING, TRAINING, UPLOADING, STOPPING})
"""Phases an instance is billed for (SageMaker bills from ``TrainingStartTime``)."""
_FINAL_STATUS = {
    "Completed": JobStatus.COMPLETED,
    "Failed": JobStatus.FAILED,
    "Stopped": JobStatus.STOPPED,
    "MaxRuntimeExceeded": JobStatus.STOPPED,
    "MaxWaitTimeExceeded": JobStatus.STOPPED,
}


@dataclass(frozen=True)
class JobSettings:
    """What the simulator takes from a job's CreateTrainingJob request."""

    instance_type: str
    instance_count: int
    keep_alive_seconds: int
    use_spot: bool
    max_runtime_seconds: int
    max_wait_seconds: int | None
    checkpoint_s3_uri: str | None
    pool_key: tuple[Any, ...] = ()
    """What must match for a job to take over the warm instance another job left."""


@dataclass
class Segment:
    """A stretch of training: from ``start`` to ``end`` (virtual seconds), from ``progress``."""

    start: float
    end: float
    progress: float


@dataclass
class SimulatedJob:
    """A job's planned timeline and what it reports. Times are virtual epoch seconds."""

    name: str
    trial_id: int | None
    created: float
    settings: JobSettings
    outcome: Outcome
    warm_start: bool
    phases: list[tuple[float, str]] = field(default_factory=list)
    """``(start, secondary status)`` in order; the last is the terminal one, at :attr:`end`."""
    segments: list[Segment] = field(default_factory=list)
    interruptions: int = 0
    pool_taken_at: float | None = None
    """When another job took over the warm instance this job left (None: not taken)."""
    _starts: list[float] = field(default_factory=list)
    _cache: tuple[float, float, JobState] | None = None

    # -- the plan -------------------------------------------------------------------------
    @classmethod
    def plan(
        cls,
        *,
        name: str,
        trial_id: int | None,
        created: float,
        settings: JobSettings,
        outcome: Outcome,
        warm: bool,
        startup: StartupModel,
        spot: SpotMarket | None,
        rng: random.Random,
    ) -> SimulatedJob:
        job = cls(name, trial_id, created, settings, outcome, warm)
        t = created
        starting, downloading = startup.startup(warm, rng)
        if spot is not None:
            starting += spot.capacity_wait(rng)
        job.phases.append((t, STARTING))
        t += starting
        job.phases.append((t, DOWNLOADING))
        t += downloading
        need, progress = outcome.training_seconds, 0.0
        checkpoints = settings.checkpoint_s3_uri is not None
        while True:
            job.phases.append((t, TRAINING))
            left = need - progress
            interrupted_after = spot.next_interruption(rng) if spot is not None else math.inf
            if spot is None or interrupted_after >= left:
                job.segments.append(Segment(t, t + left, progress))
                t += left
                break
            job.segments.append(Segment(t, t + interrupted_after, progress))
            t += interrupted_after
            progress += interrupted_after
            progress -= spot.lost_work(progress, checkpoints)
            job.interruptions += 1
            job.phases.append((t, INTERRUPTED))
            starting, downloading = startup.startup(False, rng)
            t += spot.capacity_wait(rng)
            job.phases.append((t, STARTING))
            t += starting
            job.phases.append((t, DOWNLOADING))
            t += downloading
        if outcome.failure_reason is None:
            job.phases.append((t, UPLOADING))
            t += startup.upload_seconds
        job.phases.append((t, "Failed" if outcome.failure_reason else "Completed"))
        job._index()
        cuts = []
        runtime_cut = job._billed_time_reached(settings.max_runtime_seconds)
        if runtime_cut is not None:
            cuts.append((runtime_cut, "MaxRuntimeExceeded"))
        if spot is not None and settings.max_wait_seconds is not None:
            cuts.append((created + settings.max_wait_seconds, "MaxWaitTimeExceeded"))
        if cuts:
            job.cut(*min(cuts), startup.stop_seconds)  # whichever limit comes first
        return job

    def _index(self) -> None:
        self._starts = [start for start, _ in self.phases]
        self._cache = None

    def _billed_time_reached(self, seconds: float) -> float | None:
        """The moment the job has run ``seconds`` in billed phases, if before its end."""
        spent = 0.0
        for (start, status), (end, _) in zip(self.phases, self.phases[1:], strict=False):
            if status in _BILLED and status != STOPPING:
                if spent + (end - start) > seconds:
                    return start + (seconds - spent)
                spent += end - start
        return None

    def cut(self, at: float, final: str, stop_seconds: float) -> None:
        """End the job early: ``Stopping`` from ``at``, then ``final`` after ``stop_seconds``."""
        if at >= self.end or any(status == STOPPING for _, status in self.phases):
            return  # already over, or already stopping
        kept = [(s, status) for s, status in self.phases if s < at]
        self.phases = [*kept, (at, STOPPING), (at + stop_seconds, final)]
        self.segments = [
            Segment(seg.start, min(seg.end, at), seg.progress)
            for seg in self.segments
            if seg.start < at
        ]
        self._index()

    # -- what the job is at a moment ----------------------------------------------------------
    @property
    def end(self) -> float:
        return self.phases[-1][0]

    @property
    def final_secondary(self) -> str:
        return self.phases[-1][1]

    @property
    def status(self) -> JobStatus:
        """The status the job ends with."""
        return _FINAL_STATUS[self.final_secondary]

    @property
    def training_start(self) -> float | None:
        """SageMaker's ``TrainingStartTime``: when the first billed phase began."""
        for start, status in self.phases:
            if status == DOWNLOADING:
                return start
        return None

    def secondary_at(self, now: float) -> str:
        i = bisect_right(self._starts, now) - 1
        return self.phases[max(i, 0)][1]

    def status_at(self, now: float) -> JobStatus:
        secondary = self.secondary_at(now)
        if secondary in _FINAL_STATUS:
            return _FINAL_STATUS[secondary]
        return JobStatus.STOPPING if secondary == STOPPING else JobStatus.IN_PROGRESS

    def progress_at(self, now: float) -> float:
        """Seconds of training done by ``now`` (work lost to an interruption is not counted)."""
        done = 0.0
        for seg in self.segments:
            if seg.start > now:
                break
            done = seg.progress + (min(now, seg.end) - seg.start)
        return done

    def billed_seconds(self, now: float | None = None) -> float:
        """Instance-seconds billed by ``now`` (by the end when None), before any spot discount."""
        until = self.end if now is None else min(now, self.end)
        total = 0.0
        for (start, status), (end, _) in zip(self.phases, self.phases[1:], strict=False):
            if status in _BILLED and start < until:
                total += min(end, until) - start
        return total

    def training_seconds(self, now: float | None = None) -> float:
        """Seconds spent in ``Training`` by ``now`` (lost work included)."""
        until = self.end if now is None else min(now, self.end)
        return sum(max(0.0, min(seg.end, until) - seg.start) for seg in self.segments)

    def final_metrics(self) -> dict[str, float]:
        if self.status is JobStatus.COMPLETED:
            return dict(self.outcome.metrics)
        return self.outcome.metrics_until(self.progress_at(self.end))

    def curves(self, now: float) -> dict[str, list[tuple[float, float]]]:
        """Each metric's points logged by ``now``: ``(seconds since training start, value)``."""
        start = self.training_start
        if start is None:
            return {}
        done = self.progress_at(now)
        curves: dict[str, list[tuple[float, float]]] = {}
        for name, points in self.outcome.curves.items():
            logged = [
                (self._wall_time_of(offset) - start, float(value))
                for offset, value in points
                if offset <= done
            ]
            if logged:
                curves[name] = logged
        return curves

    def _wall_time_of(self, progress: float) -> float:
        for seg in reversed(self.segments):
            if seg.progress <= progress <= seg.progress + (seg.end - seg.start):
                return seg.start + (progress - seg.progress)
        return self.segments[0].start if self.segments else self.created

    # -- as SageMaker reports it -------------------------------------------------------------
    def state(self, now: float, *, spot_savings: float) -> JobState:
        """The job as one poll sees it: a summary while it runs, the full description once it
        has ended (final metrics, failure reason, billable seconds), as the SageMaker backend
        reports it."""
        cache = self._cache
        if cache is not None and cache[0] <= now < cache[1]:
            return cache[2]
        i = max(bisect_right(self._starts, now) - 1, 0)
        valid_until = self._starts[i + 1] if i + 1 < len(self._starts) else math.inf
        secondary = self.phases[i][1]
        status = self.status_at(now)
        if not status.is_terminal:
            state = JobState(
                job_name=self.name,
                status=status,
                secondary_status=secondary,
                trial_id=self.trial_id,
                creation_time=_datetime(self.created),
            )
        else:
            state = self._described(spot_savings)
        self._cache = (self.phases[i][0], valid_until, state)
        return state

    def summary(self, now: float) -> JobState:
        """The job as a ListTrainingJobs summary shows it (no metrics or billing)."""
        status = self.status_at(now)
        start = self.training_start
        return JobState(
            job_name=self.name,
            status=status,
            secondary_status=self.secondary_at(now),
            trial_id=self.trial_id,
            creation_time=_datetime(self.created),
            end_time=_datetime(self.end) if status.is_terminal and start is not None else None,
        )

    def _described(self, spot_savings: float) -> JobState:
        start = self.training_start
        billable = None
        training = None
        if start is not None:
            training = max(1, math.ceil(round(self.end - start, 6)))
            billed = self.billed_seconds()
            if self.settings.use_spot:
                billed *= 1.0 - spot_savings
            billable = max(1, math.ceil(round(billed, 6)))  # 1000 * 0.3 is 300, not 301
        reason = None
        if self.final_secondary == "Failed":
            reason = self.outcome.failure_reason
        elif self.final_secondary == "MaxWaitTimeExceeded":
            reason = "Training job exceeded MaxWaitTimeInSeconds provided"
        return JobState(
            job_name=self.name,
            status=self.status,
            secondary_status=self.final_secondary,
            trial_id=self.trial_id,
            metrics=self.final_metrics(),
            failure_reason=reason,
            creation_time=_datetime(self.created),
            start_time=_datetime(start),
            end_time=_datetime(self.end) if start is not None else None,
            billable_seconds=billable,
            training_seconds=training,
        )


def _datetime(seconds: float | None) -> datetime | None:
    return None if seconds is None else datetime.fromtimestamp(seconds, UTC)
