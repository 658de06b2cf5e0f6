"""The simulated SageMaker of one account: its jobs in virtual time, warm pools and checkpoints.

Several :class:`~byohpo.simulator.Simulator` backends may share one account
(a backend re-attached after a simulated crash sees the jobs the first one
launched), as several processes share one AWS account.
"""

from __future__ import annotations

import math
import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from byohpo.clock import VirtualClock
from byohpo.simulator.jobs import JobSettings, SimulatedJob
from byohpo.simulator.latency import SpotMarket, StartupModel
from byohpo.simulator.problems import JobContext, Outcome, Problem
from byohpo.trial import JobStatus

LIST_PAGE_SIZE = 100
"""Jobs per ListTrainingJobs page (SageMaker's maximum, as the SageMaker backend asks)."""


@dataclass
class _CheckpointWrite:
    state: Any
    job: SimulatedJob | None
    at: float

    def visible_at(self, now: float) -> bool:
        if self.job is None:
            return self.at <= now
        # SageMaker syncs checkpoints while a job trains: a stopped job's are there too
        return self.job.end <= now and self.job.status in (JobStatus.COMPLETED, JobStatus.STOPPED)

    @property
    def saved(self) -> Any:
        """The state as the job left it: a checkpoint saved per epoch (``reached(progress)``)
        is the last one saved before the job ended."""
        reached = getattr(self.state, "reached", None)
        if self.job is None or not callable(reached):
            return self.state
        return reached(self.job.progress_at(self.job.end))


class SimulatedAccount:
    """Jobs, warm pools, checkpoints and API call counts of one simulated account.

    Not thread-safe: a simulation runs in one thread, in virtual time.
    """

    def __init__(
        self,
        problem: Problem,
        *,
        clock: VirtualClock,
        startup: StartupModel,
        spot: SpotMarket,
        seed: int,
    ) -> None:
        self.problem = problem
        self.clock = clock
        self.startup = startup
        self.spot = spot
        self.seed = seed
        self.jobs: dict[str, SimulatedJob] = {}
        """Every job, by name, in the order they were created."""
        self.api_calls: Counter[str] = Counter()
        """The SageMaker (and CloudWatch Logs) requests the backends sent, per operation."""
        self._listings: dict[str, list[str]] = {}  # NameContains filter -> names, oldest first
        self._positions: dict[str, dict[str, int]] = {}
        self._pool: list[SimulatedJob] = []  # jobs whose instance may be kept warm
        self._checkpoints: dict[str, list[_CheckpointWrite]] = {}

    def rng(self, job_name: str, trial_id: int | None, purpose: str) -> random.Random:
        """The random numbers of one job for one purpose: the same for the same seed and trial
        (whatever the study is called, so a study named by the time is reproducible too)."""
        key = job_name if trial_id is None else f"trial {trial_id}"
        return random.Random(f"{self.seed}/{key}/{purpose}")

    # -- jobs -----------------------------------------------------------------------------
    def create(
        self,
        name: str,
        trial_id: int | None,
        hyperparameters: Mapping[str, Any],
        settings: JobSettings,
        metric_names: frozenset[str],
    ) -> SimulatedJob | None:
        """Create a job now (None when a job of that name exists: SageMaker's ResourceInUse)."""
        self.api_calls["CreateTrainingJob"] += 1
        if name in self.jobs:
            return None
        now = self.clock.now()
        uri = settings.checkpoint_s3_uri
        context = JobContext(
            job_name=name,
            trial_id=trial_id,
            hyperparameters=hyperparameters,
            checkpoint=self.checkpoint(uri) if uri else None,
            checkpoint_s3_uri=uri,
            instance_type=settings.instance_type,
            instance_count=settings.instance_count,
            rng=self.rng(name, trial_id, "problem"),
        )
        outcome = _reported(self.problem.run(context), metric_names)
        warm = settings.keep_alive_seconds > 0 and self._take_warm_instance(settings, now)
        job = SimulatedJob.plan(
            name=name,
            trial_id=trial_id,
            created=now,
            settings=settings,
            outcome=outcome,
            warm=warm,
            startup=self.startup,
            spot=self.spot if settings.use_spot else None,
            rng=self.rng(name, trial_id, "timing"),
        )
        self.jobs[name] = job
        for text, names in self._listings.items():
            if text in name:
                self._positions[text][name] = len(names)
                names.append(name)
        if settings.keep_alive_seconds > 0:
            self._pool.append(job)
        if uri and outcome.checkpoint is not None:
            self._checkpoints.setdefault(uri.rstrip("/"), []).append(
                _CheckpointWrite(outcome.checkpoint, job, now)
            )
        return job

    def _take_warm_instance(self, settings: JobSettings, now: float) -> bool:
        """Hand a free warm instance of this configuration to a new job, if there is one."""
        kept: list[SimulatedJob] = []
        taken = False
        for job in self._pool:
            if job.end + job.settings.keep_alive_seconds <= now:
                continue  # its keep-alive ran out: the instance was released
            free = job.end <= now and job.training_start is not None
            if not taken and free and job.settings.pool_key == settings.pool_key:
                job.pool_taken_at = now
                taken = True
                continue
            kept.append(job)
        self._pool = kept
        return taken

    def listing(self, text: str) -> tuple[list[str], dict[str, int]]:
        """Names containing ``text`` (ListTrainingJobs' ``NameContains``), oldest first."""
        if text not in self._listings:
            names = [name for name in self.jobs if text in name]
            self._listings[text] = names
            self._positions[text] = {name: i for i, name in enumerate(names)}
        return self._listings[text], self._positions[text]

    def pages_to_find(self, text: str, names: list[str]) -> int:
        """ListTrainingJobs pages, newest first, until every one of ``names`` was seen."""
        listed, positions = self.listing(text)
        found = [positions[n] for n in names if n in positions]
        if not found:
            return max(1, math.ceil(len(listed) / LIST_PAGE_SIZE))
        return max(1, math.ceil((len(listed) - min(found)) / LIST_PAGE_SIZE))

    # -- checkpoints ----------------------------------------------------------------------
    def checkpoint(self, uri: str) -> Any:
        """The state last saved at a checkpoint location, as a job starting now finds it."""
        now = self.clock.now()
        for write in reversed(self._checkpoints.get(uri.rstrip("/"), [])):
            if write.visible_at(now):
                return write.saved
        return None

    def put_checkpoint(self, uri: str, state: Any) -> None:
        """Save ``state`` at a checkpoint location now (as copying a checkpoint in S3 does)."""
        self._checkpoints.setdefault(uri.rstrip("/"), []).append(
            _CheckpointWrite(state, None, self.clock.now())
        )


def _reported(outcome: Outcome, metric_names: frozenset[str]) -> Outcome:
    """Only the metrics the job's metric definitions name reach SageMaker."""
    return replace(
        outcome,
        metrics={k: v for k, v in outcome.metrics.items() if k in metric_names},
        curves={k: v for k, v in outcome.curves.items() if k in metric_names},
    )
