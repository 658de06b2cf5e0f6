"""A fake AWS account in this process, in which training jobs really run.

moto answers S3, CloudWatch Logs, CloudWatch, IAM and STS; byohpo answers SageMaker's
training-job operations itself and runs each job's entry point locally as SageMaker's
framework container would. Every boto3 client created while the fake is active talks to
it, as with moto's ``mock_aws``::

    with FakeAWS() as fake:
        sagemaker = boto3.client("sagemaker")
        sagemaker.create_training_job(...)
        fake.wait()
        print(fake.api_calls)
"""

from __future__ import annotations

import copy
import os
import shutil
import tempfile
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient

from byohpo.errors import UserError, require_extra
from byohpo.fake._account import AccountParts, RunnerSettings
from byohpo.fake._buckets import BUCKET_OPERATIONS, bucket_in_url
from byohpo.fake._call_counts import CallCounts
from byohpo.fake._environment import FakeEnvironment, InternalClients
from byohpo.fake._events import EVENTS_QUEUE_NAME, queue_url
from byohpo.fake._execution import ExecutionSettings, MetricsFn
from byohpo.fake._faults import Faults
from byohpo.fake._job_journal import JobJournal
from byohpo.fake._kept_data import KeptData
from byohpo.fake._operations import ServiceSettings
from byohpo.fake._protocol import (
    answer_response,
    dispatcher,
    request_body,
    request_context,
    request_region,
)
from byohpo.fake._training_jobs import FakeTrainingJob, JobStore

DEFAULT_ACCOUNT_ID = "123456789012"
"""moto's account (its STS ``GetCallerIdentity`` answers it)."""


class FakeAWS:
    """A fake AWS account: a context manager, or :meth:`start` and :meth:`stop`.

    Options (all keyword-only):

    - ``region``: the default region of clients created inside (``us-east-1``).
    - ``python``: the interpreter that runs the scripts: a path, or a mapping from training
      image URI to interpreter (exact URI, else the longest key contained in the URI, else
      the key ``"*"``); the current interpreter by default.
    - ``max_concurrent_jobs``: scripts running at once (``os.cpu_count()``); other jobs
      wait in ``Starting``.
    - ``startup_seconds`` / ``warm_startup_seconds``: time a job spends ``Starting``
      (cold, and on a warm pool; 0 and a sixth of cold by default).
    - ``stop_grace_seconds``: between SIGTERM and SIGKILL when a job is stopped (5).
    - ``checkpoint_sync_seconds``: how often checkpoints are uploaded while training (5).
    - ``instant`` and ``metrics_fn``: no script runs; a job's metrics are
      ``metrics_fn(hyperparameters)`` (decoded as a script sees them), after
      ``instant_training_seconds`` in ``Training``. The lifecycle and logs are the same.
    - ``faults``: a :class:`~byohpo.fake._faults.Faults` (none by default).
    - ``instance_quota``: instances that may be busy at once, for every type or per type;
      beyond it CreateTrainingJob answers ``ResourceLimitExceeded``.
    - ``spot_savings``: the share of training time managed spot jobs are not billed (0.7).
    - ``check_roles``: refuse jobs whose role does not exist in the fake IAM.
    - ``work_dir``: where each job's ``/opt/ml`` stand-in goes (a temporary directory,
      removed on :meth:`stop`, by default; a given directory is kept).
    - ``journal``: a directory where every job is kept on disk (:meth:`save_journal`), and
      from which a fake started later takes its jobs back (see
      :mod:`byohpo.fake._job_journal`); the dry run's service keeps one. None by default.
      ``kept_data``: the same for the account's S3 objects and log streams
      (:mod:`byohpo.fake._kept_data`).
    - ``create_buckets``: a request naming a bucket that does not exist creates it first,
      so a dry run needs no setup (output, checkpoint and input buckets). Off by default:
      the account then answers ``NoSuchBucket`` as AWS does.
    - ``clock``: the monotonic clock (seconds) that the rate limits of ``faults`` refill
      with; ``time.monotonic`` by default. A test steps its own instead of sleeping.
    - ``events``: publish each job state change on moto's EventBridge, as SageMaker does,
      and make a rule sending them to the SQS queue :attr:`events_queue_url`
      (:mod:`byohpo.fake._events`), named ``events_queue_name`` (None: no rule nor queue).

    Thread-safe. At most one fake is active in a process at a time. Clients must be created
    while it is active (or passed to :meth:`patch_client`).
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        python: str | Mapping[str, str] | None = None,
        max_concurrent_jobs: int | None = None,
        startup_seconds: float = 0.0,
        warm_startup_seconds: float | None = None,
        stop_grace_seconds: float = 5.0,
        checkpoint_sync_seconds: float = 5.0,
        instant: bool = False,
        metrics_fn: MetricsFn | None = None,
        instant_training_seconds: float = 0.0,
        faults: Faults | None = None,
        instance_quota: int | Mapping[str, int] | None = None,
        spot_savings: float = 0.7,
        check_roles: bool = False,
        work_dir: str | os.PathLike[str] | None = None,
        create_buckets: bool = False,
        journal: str | os.PathLike[str] | None = None,
        kept_data: str | os.PathLike[str] | None = None,
        clock: Callable[[], float] = time.monotonic,
        events: bool = False,
        events_queue_name: str | None = EVENTS_QUEUE_NAME,
    ) -> None:
        _check_options(
            python=python,
            max_concurrent_jobs=max_concurrent_jobs,
            seconds={
                "startup_seconds": startup_seconds,
                "warm_startup_seconds": warm_startup_seconds or 0.0,
                "stop_grace_seconds": stop_grace_seconds,
                "checkpoint_sync_seconds": checkpoint_sync_seconds,
                "instant_training_seconds": instant_training_seconds,
            },
            spot_savings=spot_savings,
            metrics_fn_without_instant=metrics_fn is not None and not instant,
        )
        self.region = region
        self.account_id = DEFAULT_ACCOUNT_ID
        self.faults = faults or Faults()
        self._execution = ExecutionSettings(
            account_id=self.account_id,
            work_dir=Path(),  # chosen at start
            python=python,
            stop_grace_seconds=stop_grace_seconds,
            checkpoint_sync_seconds=checkpoint_sync_seconds,
            instant=instant,
            metrics_fn=metrics_fn,
            instant_training_seconds=instant_training_seconds,
        )
        self._service_settings = ServiceSettings(
            account_id=self.account_id,
            spot_savings=spot_savings,
            instance_quota=instance_quota,
            check_roles=check_roles,
        )
        self._runner_settings = RunnerSettings.of(
            max_concurrent_jobs, startup_seconds, warm_startup_seconds
        )
        self._given_work_dir = Path(work_dir) if work_dir is not None else None
        self._clock = clock
        self.create_buckets = create_buckets
        self._journal = JobJournal(journal) if journal is not None else None
        self._kept_data = Path(kept_data) if kept_data is not None else None
        self._calls = CallCounts()
        self._active = False
        self._mock: Any = None
        self._environment = FakeEnvironment(region)
        self._internal = InternalClients(region)
        self._store = JobStore()
        self._parts: AccountParts | None = None
        self._events = (events, events_queue_name)
        self.events_queue_url = (
            queue_url(region, name=events_queue_name) if events and events_queue_name else None
        )
        """With ``events``: the SQS queue the rule sends the jobs' events to."""
        self.work_dir: Path | None = None
        """The directory holding each job's ``/opt/ml`` stand-in (set while active)."""

    # --- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> FakeAWS:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def active(self) -> bool:
        return self._active

    def start(self) -> None:
        """Activate the fake: moto's mocks, fake credentials, the job runner. Not re-entrant."""
        if self._active:
            raise RuntimeError("This FakeAWS is already started.")
        if dispatcher.busy:
            raise RuntimeError(
                "Another fake AWS is already active; stop it before starting a new one."
            )
        moto = require_extra("moto", "moto", "fake", "The fake AWS (dry runs)")
        self._environment.enter()
        try:
            self._mock = moto.mock_aws()  # type: ignore[attr-defined]
            self._mock.start()
            self._store = JobStore()
            if self._journal is not None:
                for record in self._journal.load():
                    self._store.add(record)
            self._calls.reset()
            self.work_dir = _make_work_dir(self._given_work_dir)
            self._parts = AccountParts.assemble(
                self._store,
                self._internal,
                execution=self._execution,
                work_dir=self.work_dir,
                runner=self._runner_settings,
                service=self._service_settings,
                faults=self.faults,
                clock=self._clock,
                events=self._events[0],
                events_queue_name=self._events[1],
                kept=KeptData(self._kept_data) if self._kept_data is not None else None,
            )
            dispatcher.activate(self._handle)
            self._parts.runner.start()
            self._active = True
        except BaseException:
            self._teardown()
            raise

    def stop(self) -> None:
        """Kill every job, deactivate the mocks, restore the environment. Idempotent."""
        if self._active:
            self._teardown()

    def _teardown(self) -> None:
        self._active = False
        if self._parts is not None:
            self._parts.shutdown()
            self._parts = None
        dispatcher.deactivate(self._handle)
        self._internal.close()
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._environment.leave()
        if self.work_dir is not None and self._given_work_dir is None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir = None

    # --- the requests ---------------------------------------------------------------------

    def _handle(
        self, service: str, operation: str, request: AWSPreparedRequest
    ) -> AWSResponse | None:
        if self._internal.made(request_context(request).get("client_config")):
            return None
        if service != "sagemaker":
            self._calls.other_call(service, operation)
            if service == "s3" and operation not in BUCKET_OPERATIONS:
                self.bucket_needed(bucket_in_url(request.url))
            return None
        answer = self.answer_sagemaker(operation, request_region(request), request_body(request))
        return None if answer is None else answer_response(request, *answer)

    def answer_sagemaker(
        self, operation: str, region: str, body: bytes | str | None
    ) -> tuple[int, dict[str, Any]] | None:
        """SageMaker's answer to one request: ``(HTTP status, JSON payload)``, or ``None`` when
        the fake leaves the operation to moto. ``body`` is the JSON 1.1 request body.

        Counts the call (:attr:`api_calls`), injects throttling. Thread-safe. This is how the
        fake answers in this process and, through :mod:`byohpo.fake._service`, over HTTP.
        """
        self._calls.sagemaker_call(operation)
        parts = self._parts
        if parts is None:
            return None
        return parts.answer(operation, region, body, create_buckets=self.create_buckets)

    def save_journal(self) -> int:
        """Write the jobs that changed to ``journal``, then what changed in S3 and the logs to
        ``kept_data``: never older than the journal; how many jobs were written."""
        written = 0
        if self._journal is not None:
            with self._store.lock:
                records = [copy.deepcopy(r) for r in self._store.all()]
            written = self._journal.save(records)
        if self._parts is not None:
            self._parts.save_data()
        return written

    def bucket_needed(self, bucket: str | None) -> None:
        """A request names ``bucket``: with ``create_buckets``, create it if it is missing."""
        parts = self._parts
        if self.create_buckets and parts is not None:
            parts.buckets.needed(bucket)

    # --- what tests and reports read ------------------------------------------------------

    @property
    def api_calls(self) -> Counter[str]:
        """SageMaker calls received (throttled and failed ones included), by operation.

        A copy; the count restarts at :meth:`start` and :meth:`reset_counters`.
        """
        return self._calls.sagemaker

    @property
    def aws_calls(self) -> Counter[str]:
        """Calls to other services by ``"service.Operation"`` (not the fake's own)."""
        return self._calls.other

    def reset_counters(self) -> None:
        self._calls.reset()

    def jobs(self) -> list[FakeTrainingJob]:
        """A snapshot of every job, oldest first (after :meth:`stop`, the last run's jobs)."""
        with self._store.lock:
            return [JobStore.snapshot(r) for r in self._store.all()]

    def job(self, name: str) -> FakeTrainingJob:
        """A snapshot of one job; ``KeyError`` if there is none of that name."""
        with self._store.lock:
            record = self._store.find(name)
            if record is None:
                raise KeyError(name)
            return JobStore.snapshot(record)

    @property
    def running_jobs(self) -> list[str]:
        """Names of the jobs whose script (or instant run) is being carried out now."""
        return self._parts.runner.running_jobs if self._parts is not None else []

    def wait(self, *names: str, timeout: float | None = 60.0) -> list[FakeTrainingJob]:
        """Block until the named jobs (all jobs if none is named) are terminal.

        Returns their snapshots; raises ``TimeoutError`` after ``timeout`` seconds.
        """
        return self._store.wait_for_ends(names, timeout)

    def session(self) -> boto3.session.Session:
        """A boto3 session in the fake's region (create it while the fake is active)."""
        return boto3.session.Session(region_name=self.region)

    @staticmethod
    def patch_client(client: BaseClient) -> None:
        """Make a client created before the fake started talk to it (as moto's
        ``patch_client``)."""
        dispatcher.register_on(client.meta.events)


def _check_options(
    *,
    python: str | Mapping[str, str] | None,
    max_concurrent_jobs: int | None,
    seconds: Mapping[str, float],
    spot_savings: float,
    metrics_fn_without_instant: bool,
) -> None:
    if metrics_fn_without_instant:
        raise UserError(
            "metrics_fn is only used in instant mode",
            "metrics_fn without instant=True",
            "Pass instant=True, or drop metrics_fn to run the scripts.",
        )
    if isinstance(python, str) and shutil.which(python) is None:
        raise UserError(
            "python must be the path of an executable Python interpreter",
            python,
            "Pass for example the bin/python of the virtual environment the scripts need.",
        )
    if max_concurrent_jobs is not None and max_concurrent_jobs < 1:
        raise UserError("max_concurrent_jobs must be at least 1", max_concurrent_jobs, None)
    for name, value in seconds.items():
        if value < 0:
            raise UserError(f"{name} must be >= 0", value, None)
    if not 0.0 <= spot_savings < 1.0:
        raise UserError("spot_savings must be a fraction in [0, 1)", spot_savings, None)


def _make_work_dir(given: Path | None) -> Path:
    """The directory of the jobs' ``/opt/ml`` stand-ins: the given one, else a new temporary
    one (removed when the fake stops)."""
    if given is None:
        return Path(tempfile.mkdtemp(prefix="byohpo-fake-"))
    given.mkdir(parents=True, exist_ok=True)
    return given
