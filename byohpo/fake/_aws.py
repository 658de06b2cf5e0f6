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
import dataclasses
import functools
import logging
import os
import shutil
import tempfile
import threading
import time
from collections import Counter
from collections.abc import Callable, Mapping
from pathlib import Path
from types import TracebackType
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from botocore.client import BaseClient
from botocore.exceptions import ClientError

from byohpo.errors import UserError, require_extra
from byohpo.fake._buckets import (
    BUCKET_OPERATIONS,
    BucketsOnDemand,
    bucket_in_url,
    buckets_of_job,
)
from byohpo.fake._events import JobEventPublisher, create_events_queue, queue_url
from byohpo.fake._execution import ExecutionSettings, MetricsFn
from byohpo.fake._faults import FaultInjector, Faults
from byohpo.fake._job_journal import JobJournal
from byohpo.fake._operations import ServiceSettings, TrainingJobService
from byohpo.fake._protocol import (
    ServiceError,
    answer_response,
    decode_params,
    dispatcher,
    error_payload,
    request_body,
    request_context,
    request_region,
)
from byohpo.fake._runner import JobRunner
from byohpo.fake._training_jobs import FakeTrainingJob, JobStore, TrainingJobRecord
from byohpo.fake._transfer import S3Transfer
from byohpo.fake._tuning_jobs import TuningJobService

logger = logging.getLogger(__name__)

DEFAULT_ACCOUNT_ID = "123456789012"
"""moto's account (its STS ``GetCallerIdentity`` answers it)."""

_FAKE_ENVIRONMENT = {
    "AWS_ACCESS_KEY_ID": "FOOBARKEY",
    "AWS_SECRET_ACCESS_KEY": "FOOBARSECRET",
}
_CLEARED_ENVIRONMENT = ("AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_PROFILE")


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
    - ``create_buckets``: a request naming a bucket that does not exist creates it first,
      so a dry run needs no setup (output, checkpoint and input buckets). Off by default:
      the account then answers ``NoSuchBucket`` as AWS does.
    - ``clock``: the monotonic clock (seconds) that the rate limits of ``faults`` refill
      with; ``time.monotonic`` by default. A test steps its own instead of sleeping.
    - ``events``: publish each job state change on moto's EventBridge, as SageMaker does,
      and make a rule sending them to the SQS queue :attr:`events_queue_url`
      (:mod:`byohpo.fake._events`).

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
        clock: Callable[[], float] = time.monotonic,
        events: bool = False,
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
        )
        if metrics_fn is not None and not instant:
            raise UserError(
                "metrics_fn is only used in instant mode",
                "metrics_fn without instant=True",
                "Pass instant=True, or drop metrics_fn to run the scripts.",
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
        self._max_concurrent_jobs = max_concurrent_jobs or os.cpu_count() or 1
        self._startup_seconds = startup_seconds
        self._warm_startup_seconds = (
            startup_seconds / 6 if warm_startup_seconds is None else warm_startup_seconds
        )
        self._given_work_dir = Path(work_dir) if work_dir is not None else None
        self._clock = clock
        self.create_buckets = create_buckets
        self._journal = JobJournal(journal) if journal is not None else None
        self._buckets: BucketsOnDemand | None = None
        self._lock = threading.Lock()
        self._api_calls: Counter[str] = Counter()
        self._aws_calls: Counter[str] = Counter()
        self._active = False
        self._mock: Any = None
        self._saved_environment: dict[str, str | None] = {}
        self._internal_clients: list[BaseClient] = []
        self._internal_configs: set[int] = set()
        self._store = JobStore()
        self._runner: JobRunner | None = None
        self._service: TrainingJobService | None = None
        self._tuning: TuningJobService | None = None
        self._injector: FaultInjector | None = None
        self._events = events
        self._publisher: JobEventPublisher | None = None
        self.events_queue_url: str | None = queue_url(region, self.account_id) if events else None
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
        self._set_environment()
        try:
            self._mock = moto.mock_aws()  # type: ignore[attr-defined]
            self._mock.start()
            self._store = JobStore()
            if self._journal is not None:
                for record in self._journal.load():
                    self._store.add(record)
            self._api_calls.clear()
            self._aws_calls.clear()
            s3 = self._internal_client("s3")
            self._buckets = BucketsOnDemand(s3, self.region)
            cloudwatch = self._internal_client("cloudwatch")
            iam = self._internal_client("iam")
            if self._given_work_dir is not None:
                self._given_work_dir.mkdir(parents=True, exist_ok=True)
                self.work_dir = self._given_work_dir
            else:
                self.work_dir = Path(tempfile.mkdtemp(prefix="byohpo-fake-"))
            transfer = S3Transfer(s3)  # type: ignore[arg-type]
            self._injector = FaultInjector(self.faults, self._clock)
            self._runner = JobRunner(
                self._store,
                dataclasses.replace(self._execution, work_dir=self.work_dir),
                transfer,
                cloudwatch,
                max_concurrent_jobs=self._max_concurrent_jobs,
                startup_seconds=self._startup_seconds,
                warm_startup_seconds=self._warm_startup_seconds,
            )
            self._service = TrainingJobService(
                self._store,
                self._service_settings,
                self._injector,
                transfer,
                on_create=self._runner.submit,
                role_exists=lambda arn: _role_exists(iam, arn),
            )
            self._tuning = TuningJobService(
                self._store, self.account_id, self._service.create_training_job
            )
            dispatcher.activate(self._handle)
            if self._events:  # SageMaker's job events, on moto's EventBridge
                events = self._internal_client("events")
                create_events_queue(events, self._internal_client("sqs"))
                self._publisher = JobEventPublisher(self._store, events, spot_savings=0.0)
                self._publisher.start()
            self._runner.start()
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
        if self._runner is not None:
            self._runner.shutdown()
        if self._publisher is not None:
            self._publisher.stop()
            self._publisher = None
        dispatcher.deactivate(self._handle)
        for client in self._internal_clients:
            client.close()
        self._internal_clients.clear()
        self._internal_configs.clear()
        self._buckets = None
        if self._mock is not None:
            self._mock.stop()
            self._mock = None
        self._restore_environment()
        if self.work_dir is not None and self._given_work_dir is None:
            shutil.rmtree(self.work_dir, ignore_errors=True)
        self.work_dir = None

    def _set_environment(self) -> None:
        self._saved_environment = {
            name: os.environ.get(name)
            for name in (*_FAKE_ENVIRONMENT, *_CLEARED_ENVIRONMENT, "AWS_DEFAULT_REGION")
        }
        os.environ.update(_FAKE_ENVIRONMENT)
        os.environ["AWS_DEFAULT_REGION"] = self.region
        for name in _CLEARED_ENVIRONMENT:
            os.environ.pop(name, None)

    def _restore_environment(self) -> None:
        for name, value in self._saved_environment.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved_environment = {}

    def _internal_client(self, service: str) -> BaseClient:
        session = _internal_session()
        client: BaseClient = session.client(  # type: ignore[call-overload]
            service, region_name=self.region
        )
        self._internal_clients.append(client)
        self._internal_configs.add(id(client.meta.config))
        return client

    # --- the requests ---------------------------------------------------------------------

    def _handle(
        self, service: str, operation: str, request: AWSPreparedRequest
    ) -> AWSResponse | None:
        if id(request_context(request).get("client_config")) in self._internal_configs:
            return None
        if service != "sagemaker":
            with self._lock:
                self._aws_calls[f"{service}.{operation}"] += 1
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
        with self._lock:
            self._api_calls[operation] += 1
        service_api, injector = self._service, self._injector
        if service_api is None or injector is None:
            return None
        try:
            if injector.throttle(operation):
                raise ServiceError("ThrottlingException", "Rate exceeded")
            params = decode_params(body)
            if operation == "CreateTrainingJob" and self.create_buckets:
                for bucket in buckets_of_job(params):
                    self.bucket_needed(bucket)
            result = service_api.call(operation, region, params)
            if result is None and self._tuning is not None:
                result = self._tuning.call(operation, region, params)
        except ServiceError as error:
            return error.status, error_payload(error)
        except Exception:
            logger.exception("The fake SageMaker failed to answer %s", operation)
            internal = ServiceError("InternalFailure", "An internal error occurred.", status=500)
            return internal.status, error_payload(internal)
        return None if result is None else (200, result)

    def save_journal(self) -> int:
        """Write the jobs that changed to the ``journal`` directory; how many were written."""
        if self._journal is None:
            return 0
        with self._store.lock:
            records = [copy.deepcopy(r) for r in self._store.all()]
        return self._journal.save(records)

    def bucket_needed(self, bucket: str | None) -> None:
        """A request names ``bucket``: with ``create_buckets``, create it if it is missing."""
        if self.create_buckets and self._buckets is not None:
            self._buckets.needed(bucket)

    # --- what tests and reports read ------------------------------------------------------

    @property
    def api_calls(self) -> Counter[str]:
        """SageMaker calls received (throttled and failed ones included), by operation.

        A copy; the count restarts at :meth:`start` and :meth:`reset_counters`.
        """
        with self._lock:
            return Counter(self._api_calls)

    @property
    def aws_calls(self) -> Counter[str]:
        """Calls to the other services, by ``"service.Operation"`` (``"cloudwatch-logs.
        GetLogEvents"``, ``"s3.PutObject"``); the fake's own transfers are not counted."""
        with self._lock:
            return Counter(self._aws_calls)

    def reset_counters(self) -> None:
        with self._lock:
            self._api_calls.clear()
            self._aws_calls.clear()

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
        return self._runner.running_jobs if self._runner is not None else []

    def wait(self, *names: str, timeout: float | None = 60.0) -> list[FakeTrainingJob]:
        """Block until the named jobs (all jobs if none is named) are terminal.

        Returns their snapshots; raises ``TimeoutError`` after ``timeout`` seconds.
        """
        wanted = {n.lower() for n in names}

        def selected() -> list[TrainingJobRecord]:
            records = self._store.all()
            return [r for r in records if not wanted or r.name.lower() in wanted]

        def done() -> bool:
            records = selected()
            if wanted and len({r.name.lower() for r in records}) < len(wanted):
                return False
            return all(r.status.is_terminal for r in records)

        if not self._store.wait_until(done, timeout):
            busy = [r.name for r in selected() if not r.status.is_terminal]
            raise TimeoutError(f"Jobs still running after {timeout} seconds: {busy}")
        with self._store.lock:
            return [JobStore.snapshot(r) for r in selected()]

    def session(self) -> boto3.session.Session:
        """A boto3 session in the fake's region (create it while the fake is active)."""
        return boto3.session.Session(region_name=self.region)

    @staticmethod
    def patch_client(client: BaseClient) -> None:
        """Make a client created before the fake started talk to it (as moto's
        ``patch_client``)."""
        dispatcher.register_on(client.meta.events)


@functools.cache
def _internal_session() -> boto3.session.Session:
    """The session of the fake's own clients, kept across fakes: loading the service models
    again at every start would make each start slow."""
    return boto3.session.Session(
        aws_access_key_id=_FAKE_ENVIRONMENT["AWS_ACCESS_KEY_ID"],
        aws_secret_access_key=_FAKE_ENVIRONMENT["AWS_SECRET_ACCESS_KEY"],
    )


def _role_exists(iam: BaseClient, arn: str) -> bool:
    name = arn.rsplit("/", 1)[-1]
    try:
        iam.get_role(RoleName=name)  # type: ignore[attr-defined]
    except ClientError:
        return False
    return True


def _check_options(
    *,
    python: str | Mapping[str, str] | None,
    max_concurrent_jobs: int | None,
    seconds: Mapping[str, float],
    spot_savings: float,
) -> None:
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
