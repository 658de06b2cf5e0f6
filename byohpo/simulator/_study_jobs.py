"""One open study's jobs on the simulated account, as the SageMaker backend sees them.

:class:`StudyJobs` is the job table a :class:`~byohpo.simulator.Simulator`
keeps for the study it opened: the jobs it created, the end states it was
told once (never asked again), and the requests that create, list, describe
and stop them, each paced and retried as the SageMaker backend's are (the
``request`` callable it is given). With status by events
(:mod:`byohpo.simulator._events`), a poll reads the simulated queue first and
lists SageMaker only as the safety net.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from typing import TYPE_CHECKING

from byohpo.backends._request import merged_hyperparameters, trial_id_from_name
from byohpo.errors import BackendError
from byohpo.simulator._account import LIST_PAGE_SIZE, SimulatedAccount
from byohpo.simulator._events import SimulatedEvents
from byohpo.simulator._jobs import JobSettings
from byohpo.simulator._problems import script_hyperparameters
from byohpo.trial import CheckpointCopy, JobState, JobStatus, LaunchRequest

if TYPE_CHECKING:
    from byohpo.job import TrainingJob


class StudyJobs:
    """The open study's jobs: what was created, what ended, and the requests that find out.

    ``prefix`` starts every job name of the study; ``request(operation)``
    sends one (paced, retried) request to the account; ``poll_pages`` counts
    how many polls needed how many ListTrainingJobs pages; ``events`` (None:
    polling only) is the study's simulated event queue.
    """

    def __init__(
        self,
        account: SimulatedAccount,
        template: TrainingJob,
        prefix: str,
        *,
        request: Callable[[str], None],
        poll_pages: Counter[int],
        events: SimulatedEvents | None,
    ) -> None:
        self.account = account
        self.template = template
        self.prefix = prefix
        self._request = request
        self._poll_pages = poll_pages
        self._events = events
        self._metric_names = frozenset(template.metric_definitions)
        self._created: set[str] = set()
        self._final: dict[str, JobState] = {}

    def submit(self, name: str, request: LaunchRequest) -> str:
        """Create the trial's job ``name`` (or adopt it, when it exists already)."""
        job = self.template
        if name in self._created:
            return name
        merged = merged_hyperparameters(job, request.hyperparameters, {}, name)
        checkpoint = request.checkpoint_s3_uri
        if checkpoint is None and job.checkpoint_s3_uri is not None:
            checkpoint = f"{job.checkpoint_s3_uri}/{name}"
        settings = JobSettings(
            instance_type=job.instance_type,
            instance_count=job.instance_count,
            keep_alive_seconds=job.keep_alive_seconds,
            use_spot=job.use_spot,
            max_runtime_seconds=job.max_runtime_seconds,
            max_wait_seconds=job.max_wait_seconds,
            checkpoint_s3_uri=checkpoint,
            pool_key=(job.instance_type, job.instance_count, job.volume_size_gb, job.role),
        )
        self._request("CreateTrainingJob")
        self.account.create(
            name,
            request.trial_id,
            script_hyperparameters(merged),
            settings,
            self._metric_names,
        )  # None: it existed (an earlier submit): adopt it, as the SageMaker backend does
        self._created.add(name)
        return name

    def poll(self, job_names: Collection[str]) -> list[JobState]:
        """One ListTrainingJobs round of the study's running jobs, plus one
        DescribeTrainingJob for each job no longer running (once for a job that ended),
        as the SageMaker backend."""
        names = list(dict.fromkeys(job_names))
        final = self._final
        pending = [n for n in names if n not in final]
        if not pending:
            return [final[n] for n in names]
        clock = self.account.clock
        states: dict[str, JobState] = {}
        safety_net = False
        if self._events is not None:  # -- status by events (simulator/events.py) --
            pending = self._events.poll(pending, states, final, clock.now())
            safety_net = bool(pending)
        running = self._list_running(pending) if pending else set()
        listed_at = now = clock.now()  # what the list says is as of its answer
        savings = self.account.spot.savings
        jobs = self.account.jobs
        for name in pending:
            simulated = jobs.get(name)
            now = listed_at
            if name not in running:
                self._request("DescribeTrainingJob")
                now = clock.now()
            if simulated is None:
                raise BackendError(
                    f"DescribeTrainingJob {name} failed: ValidationException: "
                    "Requested resource not found."
                )
            state = simulated.state(now, spot_savings=savings)
            if state.status.is_terminal:
                final[name] = state
            states[name] = state
        if safety_net and self._events is not None:  # -- status by events: what it missed --
            self._events.after_safety_net(pending, final, now)
        return [final.get(n) or states[n] for n in names]

    def _list_running(self, pending: list[str]) -> set[str]:
        """The pending jobs a ListTrainingJobs round of running jobs finds; its pages counted
        (newest first, until every pending job was seen or the list ends)."""
        self._request("ListTrainingJobs")
        running = self.account.running(self.prefix, self.account.clock.now())
        wanted = set(pending)
        found: set[str] = set()
        pages = 1
        for index, name in enumerate(running):
            if index and index % LIST_PAGE_SIZE == 0:
                if len(found) == len(wanted):
                    break
                self._request("ListTrainingJobs")
                pages += 1
            if name in wanted:
                found.add(name)
        self._poll_pages[pages] += 1
        return found

    def event_arrival(self, job_name: str) -> float | None:
        """When the job's end reached the study's queue (None: no events, lost, or running)."""
        return None if self._events is None else self._events.arrival(job_name)

    def waiting_time(self, seconds: float) -> float:
        """How long to sleep of ``seconds``: with events, only until a job's end arrives."""
        if self._events is None:
            return seconds
        in_flight = self._created - self._final.keys()
        return self._events.wait(seconds, in_flight, self.account.clock.now())

    def stop(self, job_name: str) -> None:
        """Ask the job to stop: it is ``Stopping`` for a while, then ``Stopped``."""
        if job_name in self._final:
            return
        self._request("StopTrainingJob")
        simulated = self.account.jobs.get(job_name)
        if simulated is None:
            raise BackendError(
                f"StopTrainingJob {job_name} failed: ValidationException: "
                "Requested resource not found."
            )
        now = self.account.clock.now()
        status = simulated.status_at(now)
        if status.is_terminal or status is JobStatus.STOPPING:
            self._request("DescribeTrainingJob")  # refused: the backend checks it is over
            return
        simulated.cut(now, "Stopped", self.account.startup.stop_seconds)

    def list_all(self) -> list[JobState]:
        """Every job of the study, listed page by page (a resume adopts them)."""
        listed, _ = self.account.listing(self.prefix)
        for _ in range(max(1, math.ceil(len(listed) / LIST_PAGE_SIZE))):
            self._request("ListTrainingJobs")
        now = self.account.clock.now()
        states = []
        for name in listed:
            trial_id = trial_id_from_name(self.prefix, name)
            if trial_id is None:
                continue  # another study whose name contains this one's
            self._created.add(name)
            states.append(self._final.get(name) or self.account.jobs[name].summary(now))
        return states

    def copy_checkpoint(self, source_job: str, target_job: str) -> CheckpointCopy:
        """Copy the checkpoint a completed or stopped job left to where ``target_job`` starts."""
        template = self.template
        source = self.account.jobs.get(source_job)
        now = self.account.clock.now()
        if source is None or source.status_at(now) not in (JobStatus.COMPLETED, JobStatus.STOPPED):
            raise BackendError(
                f"cannot copy the checkpoint of {source_job}: only an ended (Completed or "
                "Stopped) job's checkpoint is final"
            )
        source_uri = source.settings.checkpoint_s3_uri
        state = self.account.checkpoint(source_uri) if source_uri else None
        if source_uri is None or state is None or template.checkpoint_s3_uri is None:
            raise BackendError(
                f"{source_job} left no checkpoint to start {target_job} from: the job template "
                "needs checkpoint_s3_uri, and the problem must return Outcome(checkpoint=...)"
            )
        if target_job in self.account.jobs:
            raise BackendError(f"{target_job} exists already: a checkpoint is copied before")
        target_uri = f"{template.checkpoint_s3_uri}/{target_job}"
        self._request("CopyObject")
        self.account.put_checkpoint(target_uri, state)
        return CheckpointCopy(source_job, source_uri, target_uri, ("checkpoint",))

    def read_curves(self, job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        """Every metric point logged so far, as ``(seconds since training start, value)``."""
        simulated = self.account.jobs.get(job_name)
        for _ in range(self.template.instance_count):
            self._request("GetLogEvents")
        if simulated is None:
            return {}
        return simulated.curves(self.account.clock.now())
