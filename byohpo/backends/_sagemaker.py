"""Trials as Amazon SageMaker training jobs, over boto3 alone (the SageMaker SDK is not needed).

What a study costs in API calls: per job one CreateTrainingJob and one
DescribeTrainingJob (once it is terminal, for its final metrics); per poll
one ListTrainingJobs round for all the jobs in flight, whatever their number:
it lists only the study's jobs still ``InProgress`` (one page for up to 100
jobs at once), so a job that has run for days costs no more than a new one;
per study one upload of the code. Every request waits for its API's token in
a :class:`~byohpo.backends._rates.RequestPacer` shared by every study in the
process, so bursts stay under SageMaker's rates. Learning curves, when a
feature asks for them, cost a GetLogEvents per log stream per read, each
reading only the new lines.
"""

from __future__ import annotations

import logging
from collections import Counter
from collections.abc import Callable, Collection, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any, TypeAlias

from botocore.exceptions import ClientError

from byohpo._clock import Clock, WallClock
from byohpo._images import training_image
from byohpo.backends._aws_errors import translate
from byohpo.backends._base import Backend, study_prefix
from byohpo.backends._checkpoints import copy_job_checkpoint
from byohpo.backends._job_creation import JobCreation
from byohpo.backends._job_events import (
    DEFAULT_SAFETY_NET_SECONDS,
    MAX_WAIT_SECONDS,
    EventQueue,
    EventWatch,
    StudyEvents,
    check_queue_url,
    check_safety_net,
    check_wait_seconds,
)
from byohpo.backends._listing import all_jobs, running_jobs
from byohpo.backends._log_reading import LogReading
from byohpo.backends._logs import CurveReader
from byohpo.backends._preparation import check_input_data, default_output_path, upload_code
from byohpo.backends._rates import (
    SAGEMAKER_RATES,
    UNPACED,
    Rate,
    RequestPacer,
    RequestRates,
    shared_pacer,
)
from byohpo.backends._request import (
    StudyCode,
    merged_hyperparameters,
    script_mode_hyperparameters,
    state_from_description,
    state_from_summary,
    trial_id_from_name,
)
from byohpo.backends._retry import RetryingCaller, RetryPolicy, client_config, error_code
from byohpo.errors import (
    NoStudyOpenError,
    UserError,
)
from byohpo.job import TrainingJob
from byohpo.trial import CheckpointCopy, JobState, JobStatus

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

log = logging.getLogger(__name__)

ImageLookup = Callable[[TrainingJob, str], str]
"""``(job, region) -> image URI``: how a job given by ``framework`` finds its training image."""

if TYPE_CHECKING:
    SessionSource: TypeAlias = boto3.Session | Callable[[], boto3.Session]
    """A boto3 session, or a function that gives one when a study opens."""


class SageMakerBackend(JobCreation, LogReading, Backend):
    """Runs each trial as a SageMaker training job.

    ``session`` is the boto3 session to use, or a function giving one when a
    study opens (default: a new ``boto3.Session()`` when a study opens, never
    at import); ``region`` overrides its region. ``image_lookup`` finds the
    image of a job that names a ``framework`` instead of an ``image_uri``
    (default: the SageMaker SDK's tables, :func:`byohpo._images.training_image`;
    an account that mirrors the framework images in its own registry passes
    its own).
    Promises, beyond :class:`~byohpo.backends._base.Backend`'s:

    - ``submit`` of a trial whose job already exists adopts it (a job name is
      the study's prefix and the trial id);
    - a full :class:`~byohpo.errors.CapacityError` when SageMaker says
      ``ResourceLimitExceeded``: nothing was launched, and the tuner should run
      fewer jobs at once and submit again later;
    - :class:`~byohpo.errors.JobDefinitionError` when SageMaker rejects the
      request as invalid (a user mistake: the study should stop);
    - throttling, server errors and timeouts are retried with jittered
      exponential backoff (:class:`~byohpo.backends._retry.RetryPolicy`);
    - requests are paced per API (:mod:`byohpo.backends._rates`): by ``pacer``
      when given, else by the process's shared pacer for the region at
      ``rates`` (SageMaker's, with ListTrainingJobs at
      ``list_calls_per_second``). ``list_calls_per_second=None`` paces
      nothing at all, for endpoints without SageMaker's limits.

    ``api_calls`` counts the requests sent per operation. Not thread-safe.

    Status by events: with ``events_queue`` (the URL of the SQS queue that an
    EventBridge rule fills with the study's "SageMaker Training Job State Change"
    events; ``infra/template.yaml`` makes both), :meth:`poll` learns of ended jobs
    from the queue and lists SageMaker only as a safety net, at most every
    ``safety_net_seconds``; between polls, :meth:`wait_for_change` long-polls the
    queue (``events_wait_seconds``, 0-20; 0 reads the queue only when polling) and
    returns as soon as one of the study's jobs ended. See
    :mod:`byohpo.backends._job_events`.
    """

    def __init__(
        self,
        session: SessionSource | None = None,
        region: str | None = None,
        *,
        retry: RetryPolicy | None = None,
        clock: Clock | None = None,
        min_poll_interval: float = 5.0,
        list_calls_per_second: float | None = 2.0,
        check_inputs: bool = True,
        image_lookup: ImageLookup = training_image,
        pacer: RequestPacer | None = None,
        rates: RequestRates = SAGEMAKER_RATES,
        events_queue: str | None = None,
        events_wait_seconds: int = MAX_WAIT_SECONDS,
        safety_net_seconds: float = DEFAULT_SAFETY_NET_SECONDS,
    ) -> None:
        self._session = session
        self._image_lookup = image_lookup
        self._region = region
        self.clock = clock or WallClock()
        self.min_poll_interval = min_poll_interval
        if list_calls_per_second is None:
            rates = UNPACED
        elif list_calls_per_second != 2.0:
            rates = rates.replace("ListTrainingJobs", Rate(list_calls_per_second, 1.0))
        self.rates = rates
        """The request rates this backend keeps to (unless given its own ``pacer``)."""
        self.pacer = pacer
        """The pacer requests wait for; None until a study opens, unless one was given."""
        self.poll_pages: Counter[int] = Counter()
        """How many polls needed how many ListTrainingJobs pages (pages -> polls)."""
        self._check_inputs = check_inputs
        self._call = RetryingCaller(policy=retry or RetryPolicy(), clock=self.clock)
        self.events_queue = None if events_queue is None else check_queue_url(events_queue)
        self.events_wait_seconds = check_wait_seconds(events_wait_seconds)
        self.safety_net_seconds = check_safety_net(safety_net_seconds)
        self._reset_study()

    def _reset_study(self) -> None:
        self._job: TrainingJob | None = None
        self._client_region = ""
        self._prefix = ""
        self._image = ""
        self._output = ""
        self._script_mode: dict[str, str] = {}
        self._created: dict[str, datetime] = {}
        self._final: dict[str, JobState] = {}
        self._readers: dict[str, CurveReader] = {}
        self._sm: SageMakerClient | None = None
        self._s3: S3Client | None = None
        self._logs: CloudWatchLogsClient | None = None
        self._events: StudyEvents | None = None

    # -- what the benchmarks and tests read ---------------------------------------------
    @property
    def api_calls(self) -> Counter[str]:
        """Requests sent per operation name (``CreateTrainingJob``, ...), retries included."""
        return self._call.calls

    @property
    def throttled_calls(self) -> Counter[str]:
        """Requests per operation that were answered with a throttling error."""
        return self._call.throttled

    @property
    def job(self) -> TrainingJob:
        """The template of the open study."""
        return self._template()

    @property
    def region(self) -> str:
        """The region of the open study's clients."""
        return self._client_region

    @property
    def output_prefix(self) -> str:
        """``<output_path>/<study prefix>``: where the study's models and code go."""
        return self._output

    # -- opening a study --------------------------------------------------------------------
    def _open_session(self) -> boto3.Session:
        if self._session is None:
            import boto3

            return boto3.Session(region_name=self._region)
        return self._session() if callable(self._session) else self._session

    def open(self, study_name: str, job: TrainingJob) -> None:
        """Create the clients, find the image, check inputs, upload the code (once per content).

        Idempotent: opening the same study again (to resume) finds the code
        already uploaded and sends nothing new.
        """
        self._close_clients()
        self._reset_study()
        self._study = study_name
        self._job = job
        self._prefix = study_prefix(study_name, self.study_id)
        session = self._open_session()
        region = self._region or session.region_name
        if not region:
            raise UserError(
                "a SageMaker backend needs an AWS region",
                "none configured",
                "Pass SageMakerBackend(region='us-east-1') or set AWS_DEFAULT_REGION.",
            )
        self._client_region = region
        self._call.pacer = self.pacer = self.pacer or self._shared_pacer(region)
        config = client_config()
        self._sm = session.client("sagemaker", region_name=region, config=config)
        self._s3 = session.client("s3", region_name=region, config=config)
        self._logs = session.client("logs", region_name=region, config=config)
        s3 = self._clients()[1]
        output = job.output_path or default_output_path(self._call, session, s3, region)
        self._output = f"{output}/{self._prefix}"
        self._image = self._image_lookup(job, region)
        if self._check_inputs:
            check_input_data(self._call, s3, job)
        if job.entry_point is not None:
            code = StudyCode(job.entry_point, upload_code(self._call, s3, job, self._output))
            self._script_mode = script_mode_hyperparameters(code, region, job.container_log_level)
        merged_hyperparameters(job, {}, self._script_mode, self.job_name(0))
        if self.events_queue is not None:  # -- status by events (job_events.py) --
            queue = EventQueue(
                session.client("sqs", region_name=region, config=config),
                self.events_queue,
                self._call,
            )
            watch = EventWatch(self._prefix, self.safety_net_seconds, self.clock.now())
            watch.take(queue.check())
            self._events = StudyEvents(queue, watch, self.events_wait_seconds, self.clock)

    def _shared_pacer(self, region: str) -> RequestPacer:
        """The process's pacer for the region (on the wall clock), or one of this backend's
        own when it runs on another clock (a test's, or virtual time)."""
        if isinstance(self.clock, WallClock):
            return shared_pacer(region, self.rates)
        return RequestPacer(self.rates, self.clock)

    def _clients(self) -> tuple[SageMakerClient, S3Client, CloudWatchLogsClient]:
        if self._sm is None or self._s3 is None or self._logs is None:
            raise NoStudyOpenError()
        return self._sm, self._s3, self._logs

    def _template(self) -> TrainingJob:
        if self._job is None:
            raise NoStudyOpenError()
        return self._job

    # -- watching -----------------------------------------------------------------------------
    def poll(self, job_names: Collection[str]) -> list[JobState]:
        """The state of each job: one ListTrainingJobs round of the study's running jobs,
        plus one DescribeTrainingJob for each job that is no longer running (once for a
        job that ended: its final state is kept)."""
        names = list(dict.fromkeys(job_names))
        states: dict[str, JobState] = {n: self._final[n] for n in names if n in self._final}
        pending = [n for n in names if n not in states]
        safety_net = False
        if pending and self._events is not None:  # -- status by events (job_events.py) --
            pending = self._events.poll(pending, states, self._final, self._describe, self._created)
            safety_net = bool(pending)
        if pending:
            running = self._list_running(set(pending))
            for name in pending:
                summary = running.get(name)
                if summary is not None:
                    state = state_from_summary(summary, trial_id_from_name(self._prefix, name))
                else:
                    state = self._describe(name)  # ended, stopping, or not listed yet
                if state.status.is_terminal:
                    self._final[name] = state
                states[name] = state
        if safety_net and self._events is not None:  # -- status by events: what it missed --
            self._events.after_safety_net(pending, self._final)
        return [states[n] for n in names]

    def wait_for_change(self, seconds: float) -> None:
        """Wait ``seconds`` before the next poll; with an events queue, on the queue, returning
        as soon as a job of the study ended (:class:`~byohpo.backends._job_events.StudyEvents`)."""
        if self._events is None:
            self.clock.sleep(seconds)
        else:
            self._events.wait(seconds, self.clock)

    def _list_page(self, **kwargs: Any) -> Mapping[str, Any]:
        sm = self._clients()[0]
        try:
            return self._call("ListTrainingJobs", sm.list_training_jobs, **kwargs)
        except ClientError as exc:
            raise translate(exc, "ListTrainingJobs", self._prefix) from exc

    def _list_running(self, wanted: set[str]) -> dict[str, Mapping[str, Any]]:
        """The study's running jobs among ``wanted`` (see :mod:`byohpo.backends._listing`)."""
        summaries, pages = running_jobs(self._list_page, self._prefix, wanted)
        self.poll_pages[pages] += 1
        found: dict[str, Mapping[str, Any]] = {}
        for summary in summaries:
            name = summary["TrainingJobName"]
            self._created.setdefault(name, summary["CreationTime"])
            if name in wanted:
                found[name] = summary
        return found

    def _describe(self, name: str) -> JobState:
        sm = self._clients()[0]
        try:
            description = self._call(
                "DescribeTrainingJob", sm.describe_training_job, TrainingJobName=name
            )
        except ClientError as exc:
            raise translate(exc, "DescribeTrainingJob", name) from exc
        return state_from_description(description, trial_id_from_name(self._prefix, name))

    def list_study_jobs(self) -> list[JobState]:
        """Every job of the study, oldest first, as listed (terminal details come from poll)."""
        self._template()
        jobs: list[JobState] = []
        for summary in all_jobs(self._list_page, self._prefix):
            name = summary["TrainingJobName"]
            trial_id = trial_id_from_name(self._prefix, name)
            if trial_id is None:
                continue  # another study whose name contains this one's
            self._created[name] = summary["CreationTime"]
            jobs.append(self._final.get(name) or state_from_summary(summary, trial_id))
        return jobs

    # -- warm starts --------------------------------------------------------------------------
    def copy_checkpoint(self, source_job: str, target_job: str) -> CheckpointCopy:
        """Copy the ended ``source_job``'s checkpoint to ``<checkpoint_s3_uri>/<target_job>``
        (see :func:`byohpo.backends._checkpoints.copy_job_checkpoint`)."""
        sm, s3, _ = self._clients()
        return copy_job_checkpoint(self._call, sm, s3, self._template(), source_job, target_job)

    # -- stopping -----------------------------------------------------------------------------
    def stop(self, job_name: str) -> None:
        """Ask the job to stop. A job already stopping or ended is left as it is."""
        if job_name in self._final:
            return
        sm = self._clients()[0]
        try:
            self._call("StopTrainingJob", sm.stop_training_job, TrainingJobName=job_name)
        except ClientError as exc:
            if error_code(exc) != "ValidationException":
                raise translate(exc, "StopTrainingJob", job_name) from exc
            state = self._describe(job_name)  # refused: fine if it is already over
            if state.status is not JobStatus.STOPPING and not state.status.is_terminal:
                raise translate(exc, "StopTrainingJob", job_name) from exc

    def close(self) -> None:
        """Close the clients (and their connections). Jobs keep running; open() again to
        re-attach."""
        self._close_clients()

    def _close_clients(self) -> None:
        for client in (self._sm, self._s3, self._logs):
            if client is not None:
                client.close()
        self._sm = self._s3 = self._logs = None
        if self._events is not None:  # -- status by events --
            self._events.queue.client.close()
