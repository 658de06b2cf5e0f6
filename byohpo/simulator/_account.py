"""The simulated SageMaker of one account: its jobs in virtual time, warm pools and checkpoints.

Several :class:`~byohpo.simulator.Simulator` backends may share one account
(a backend re-attached after a simulated crash sees the jobs the first one
launched), as several processes share one AWS account.
"""

from __future__ import annotations

import random
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, replace
from typing import Any

from botocore.exceptions import ClientError

from byohpo._clock import VirtualClock
from byohpo.errors import CapacityError
from byohpo.simulator._jobs import JobSettings, SimulatedJob
from byohpo.simulator._latency import SpotMarket, StartupModel
from byohpo.simulator._limits import AccountLimits, Throttle
from byohpo.simulator._problems import JobContext, Outcome, Problem
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

    Every request goes through :meth:`request`: counted, delayed by the
    limits' API latency, and throttled beyond the limits' rates. Not
    thread-safe: a simulation runs in one thread, in virtual time.
    """

    def __init__(
        self,
        problem: Problem,
        *,
        clock: VirtualClock,
        startup: StartupModel,
        spot: SpotMarket,
        seed: int,
        limits: AccountLimits | None = None,
    ) -> None:
        self.problem = problem
        self.limits = limits or AccountLimits()
        self._throttle = Throttle(self.limits.rates)
        self.throttled_calls: Counter[str] = Counter()
        """Requests answered with ``ThrottlingException``, per operation (in api_calls too)."""
        self.clock = clock
        self.startup = startup
        self.spot = spot
        self.seed = seed
        self.jobs: dict[str, SimulatedJob] = {}
        """Every job, by name, in the order they were created."""
        self.api_calls: Counter[str] = Counter()
        """The SageMaker (and CloudWatch Logs) requests the backends sent, per operation,
        throttled ones included."""
        self._training: dict[str, list[SimulatedJob]] = {}  # instance type -> jobs not ended
        self._listings: dict[str, list[str]] = {}  # NameContains filter -> names, oldest first
        self._positions: dict[str, dict[str, int]] = {}
        self._unended: dict[str, list[str]] = {}  # NameContains filter -> jobs not ended
        self._unended_seen: dict[str, int] = {}
        self._pool: list[SimulatedJob] = []  # jobs whose instance may be kept warm
        self._checkpoints: dict[str, list[_CheckpointWrite]] = {}

    def rng(self, job_name: str, trial_id: int | None, purpose: str) -> random.Random:
        """The random numbers of one job for one purpose: the same for the same seed and trial
        (whatever the study is called, so a study named by the time is reproducible too)."""
        key = job_name if trial_id is None else f"trial {trial_id}"
        return random.Random(f"{self.seed}/{key}/{purpose}")

    # -- requests -------------------------------------------------------------------------
    def request(self, operation: str) -> None:
        """One request reaches SageMaker: counted, answered after the API latency, or
        refused with ``ThrottlingException`` (a ``ClientError``) beyond the API's rate."""
        self.api_calls[operation] += 1
        self.clock.sleep(self.limits.api_latency)
        if not self._throttle.allows(operation, self.clock.now()):
            self.throttled_calls[operation] += 1
            answer: Any = {
                "Error": {"Code": "ThrottlingException", "Message": "Rate exceeded"},
                "ResponseMetadata": {"HTTPStatusCode": 400},
            }
            raise ClientError(answer, operation)

    def _check_quota(self, settings: JobSettings, now: float) -> None:
        """SageMaker's ``ResourceLimitExceeded`` when the job would exceed its type's quota."""
        quota = self.limits.instance_quotas.get(settings.instance_type)
        if quota is None:
            return
        active = [j for j in self._training.get(settings.instance_type, []) if j.end > now]
        self._training[settings.instance_type] = active
        in_use = sum(j.settings.instance_count for j in active)
        if in_use + settings.instance_count > quota:
            raise CapacityError(
                f"CreateTrainingJob: ResourceLimitExceeded: The account-level service limit "
                f"'{settings.instance_type} for training job usage' is {quota} Instances, with "
                f"current utilization of {in_use} Instances and a request delta of "
                f"{settings.instance_count} Instances (run fewer jobs at once, or ask for a "
                "higher quota in Service Quotas)"
            )

    # -- jobs -----------------------------------------------------------------------------
    def create(
        self,
        name: str,
        trial_id: int | None,
        hyperparameters: Mapping[str, Any],
        settings: JobSettings,
        metric_names: frozenset[str],
    ) -> SimulatedJob | None:
        """Create a job now (None when a job of that name exists: SageMaker's ResourceInUse).

        The request itself is counted by :meth:`request`, which the backend calls first.
        Raises :class:`~byohpo.errors.CapacityError` beyond the instance type's quota.
        """
        if name in self.jobs:
            return None
        now = self.clock.now()
        self._check_quota(settings, now)
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
        if settings.instance_type in self.limits.instance_quotas:
            self._training.setdefault(settings.instance_type, []).append(job)
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

    def running(self, text: str, now: float) -> list[str]:
        """Names containing ``text`` whose job is ``InProgress`` now, newest first (what
        ListTrainingJobs with ``StatusEquals="InProgress"`` lists)."""
        listed, _ = self.listing(text)
        unended = self._unended.setdefault(text, [])
        seen = self._unended_seen.get(text, 0)
        unended.extend(listed[seen:])  # jobs created since the last call
        self._unended_seen[text] = len(listed)
        jobs = self.jobs
        unended[:] = [name for name in unended if jobs[name].end > now]  # an end never moves on
        return [n for n in reversed(unended) if jobs[n].status_at(now) is JobStatus.IN_PROGRESS]

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
