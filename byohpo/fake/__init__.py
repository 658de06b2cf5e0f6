"""A dry run of a study: the SageMaker backend against a fake AWS.

:class:`FakeSageMaker` is the backend to hand to the tuner for a dry run. It
owns a :class:`~byohpo.fake._aws.FakeAWS`: moto answers S3, CloudWatch Logs,
IAM and STS, and byohpo's own training-job service answers SageMaker, running
each job's entry point locally as the framework container would. The backend
is the production one (:class:`~byohpo.backends._sagemaker.SageMakerBackend`)
talking boto3 to the fake, so a dry run exercises the same code as a cloud run.

The fake lives in this process by default. With ``service=DIR`` it lives in a
background process of its own (:mod:`byohpo.fake._service`), which outlives
this one as SageMaker outlives a crashed orchestrator: its jobs keep running,
and a later process (``byohpo resume``) finds them again from ``DIR``.

moto is imported when the fake starts, not when this module is imported.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any, Self

from byohpo._images import training_image
from byohpo._job_checks import bucket_of
from byohpo.backends._retry import RetryPolicy
from byohpo.backends._sagemaker import SageMakerBackend
from byohpo.errors import MissingExtraError, UserError
from byohpo.fake._events import create_events_queue, events_queue_name, queue_url
from byohpo.fake._fault_settings import faults_to_json
from byohpo.fake._faults import FailureKind, Faults
from byohpo.fake._service_client import (
    DEFAULT_IDLE_TIMEOUT,
    ServiceEnvironment,
    ServiceStart,
    find_service,
    start_service,
    stop_service,
)
from byohpo.job import TrainingJob
from byohpo.trial import JobPlace

if TYPE_CHECKING:
    import boto3

    from byohpo.fake._aws import FakeAWS

__all__ = ["FailureKind", "FakeSageMaker", "Faults", "find_service", "stop_service"]

log = logging.getLogger(__name__)

PLACEHOLDER_IMAGE = "byohpo-fake/{framework}:{version}"
"""The image a job names on the fake when its framework image cannot be looked up (the
SageMaker SDK is not installed). The fake pulls no image, so any name will do."""

SERVICE_OPTIONS = frozenset(
    {
        "python",
        "max_concurrent_jobs",
        "startup_seconds",
        "warm_startup_seconds",
        "stop_grace_seconds",
        "checkpoint_sync_seconds",
        "instance_quota",
        "spot_savings",
        "check_roles",
        "work_dir",
        "create_buckets",
        "faults",
    }
)
"""The ``aws_options`` a fake-AWS service takes (plain values that cross a process boundary)."""

INPUTS_FILE = "inputs.json"
"""In a service's directory: the local inputs put in its S3, to put again in a new service."""


class FakeSageMaker(SageMakerBackend):
    """The SageMaker backend on a fake AWS: a dry run needs no account and no setup.

    This is :class:`~byohpo.backends._sagemaker.SageMakerBackend`, unchanged, given a
    boto3 session (:meth:`session`) whose clients talk to a fake AWS that this object
    runs: in this process, or in a background service. Use it as a context manager, so
    that every boto3 client created inside the block talks to the fake (as with moto's
    ``mock_aws``)::

        with byohpo.FakeSageMaker() as fake:
            byohpo.Tuner(job, space, backend=fake, ...).run()

    or hand it to the tuner as it is: the tuner holds the backend for the study's run, so
    the fake starts when the study opens and shuts down when it closes. :meth:`start` and
    :meth:`shutdown` do the same by hand.

    What the fake account does for a dry run that a real one would not:

    - every bucket a request names (``output_path``, inputs, checkpoints, an S3
      ``source_dir``) is created in the fake S3 if missing (``create_buckets=False``
      turns that off);
    - ``inputs`` maps S3 URIs to local files or directories put in the fake S3 when it
      starts, e.g. ``{"s3://bucket/digits/train": "data/train"}``, for a job whose input
      channels must hold data;
    - a job given by ``framework`` gets a placeholder image name when the SageMaker SDK is
      not installed to look the real one up (:data:`PLACEHOLDER_IMAGE`): the fake pulls
      no image;
    - polling is not rate-limited and may be frequent (``min_poll_interval`` 0.2 s), since
      the fake's jobs take seconds.

    ``aws_options`` go to :class:`~byohpo.fake._aws.FakeAWS`: ``python`` (the interpreter
    that runs scripts), ``max_concurrent_jobs``, ``startup_seconds``, ``instant`` and
    ``metrics_fn`` (no script runs; the metrics come from the function),
    ``instant_training_seconds``, ``faults`` (:class:`~byohpo.fake._faults.Faults`:
    throttling, capacity errors, failing jobs, ...), ``instance_quota``, ``work_dir``, ...

    ``events=True``: status by events, as with the real service and
    ``infra/template.yaml``: the fake publishes each job state change on moto's
    EventBridge, a rule sends them to an SQS queue, and this backend reads it
    (``events_wait_seconds``, 0 by default: the fake's polls are frequent anyway;
    ``safety_net_seconds``, 10 minutes by default). ``events="name"`` (or the queue URL a
    real study uses) names the fake's queue. On a service too: the service publishes every
    job's state changes, and this backend makes its rule and queue there when it starts.

    ``service=DIR`` puts the fake AWS in a background process instead (found in, or
    started for, the state directory ``DIR``; see :mod:`byohpo.fake._service_client`).
    Clients then reach it through ``AWS_ENDPOINT_URL`` while the fake is started here.
    Stopping this backend leaves the service and its jobs running: it ends by itself after
    ``service_idle_timeout`` seconds with no job running and no request (0: never), or with
    :func:`stop_service`; the jobs' results stay in ``DIR``, and a service started there
    later still answers for them. A service takes the plain options of
    :data:`SERVICE_OPTIONS` only, and they apply when it is started, not when it is found.
    After :meth:`start`, :attr:`service` says whether the service was found running or
    started, and which earlier service of ``DIR`` is gone.
    """

    jobs_run_in = JobPlace.FAKE_AWS

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        inputs: Mapping[str, str | Path] | None = None,
        retry: RetryPolicy | None = None,
        min_poll_interval: float = 0.2,
        list_calls_per_second: float | None = None,
        service: str | os.PathLike[str] | None = None,
        service_idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
        events: bool | str = False,
        events_wait_seconds: int = 0,
        safety_net_seconds: float = 600.0,
        **aws_options: Any,
    ) -> None:
        queue = events_queue_name(events) if events else None
        super().__init__(
            self.session,
            region=region,
            retry=retry,
            min_poll_interval=min_poll_interval,
            list_calls_per_second=list_calls_per_second,
            image_lookup=dry_run_image,
            events_queue=queue_url(region, name=queue) if queue else None,
            events_wait_seconds=events_wait_seconds,
            safety_net_seconds=safety_net_seconds,
        )
        aws_options.setdefault("create_buckets", True)
        self._fake_region = region
        self._inputs = dict(inputs or {})
        self._scopes: list[bool] = []
        self._aws: FakeAWS | None = None
        self.service_dir = Path(service) if service is not None else None
        """The state directory of the fake-AWS service, or ``None`` for a fake in this process."""
        self.service: ServiceStart | None = None
        """Once started on a service: where it answers, whether it was found or started."""
        self._service_idle_timeout = service_idle_timeout
        self._service_options = _service_options(aws_options, region) if service is not None else {}
        self._environment: ServiceEnvironment | None = None
        self._events_queue_name = queue
        if self.service_dir is not None:
            return
        try:
            from byohpo.fake._aws import FakeAWS
        except ImportError as exc:  # pragma: no cover - boto3 is a core dependency
            raise MissingExtraError("moto", "fake", "The fake SageMaker (dry runs)") from exc
        named: dict[str, Any] = {"events": True, "events_queue_name": queue} if queue else {}
        self._aws = FakeAWS(region=region, **named, **aws_options)

    @property
    def aws(self) -> FakeAWS:
        """The fake AWS account in this process: its jobs, its call counts, its faults."""
        if self._aws is None:
            raise RuntimeError(
                f"This FakeSageMaker's fake AWS runs in a service of its own ({self.service_dir}):"
                " ask it with boto3 clients created while the fake is started (AWS_ENDPOINT_URL "
                "points at it)."
            )
        return self._aws

    @property
    def endpoint_url(self) -> str | None:
        """The service's endpoint URL while started on a service, else ``None``."""
        return self.service.endpoint.url if self.service is not None else None

    def session(self) -> boto3.Session:
        """A boto3 session whose clients talk to this fake; the fake must be started.

        The backend makes its clients from it when a study opens. Refusing while the fake
        is stopped keeps a dry run's requests from ever reaching a real AWS account.
        """
        if not self.active:
            raise UserError(
                "a FakeSageMaker must be started before its clients are made",
                "a study opened (or a session asked for) while the fake is stopped",
                "Use `with byohpo.FakeSageMaker() as fake:`, call fake.start(), or hand it to "
                "a Tuner, which starts it for the study's run.",
            )
        import boto3

        return boto3.session.Session(region_name=self._fake_region)

    # -- the fake's lifetime ------------------------------------------------------------------
    def __enter__(self) -> Self:
        """Start the fake unless it runs already; the matching exit stops what this started."""
        started = not self.active
        if started:
            self.start()
        self._scopes.append(started)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        started = self._scopes.pop() if self._scopes else True
        self.close()
        if started:
            self.shutdown()

    @property
    def active(self) -> bool:
        if self._aws is None:
            return self._environment is not None
        return self._aws.active

    def start(self) -> None:
        """Start the fake AWS (idempotent); boto3 clients created from now on talk to it.

        On a service: find the directory's running service or start one, and point boto3 at
        it. The inputs are put in its S3 when given, and again in a new service when an
        earlier one of the directory is gone.
        """
        if self.active:
            return
        if self._aws is not None:
            self._aws.start()
        else:
            assert self.service_dir is not None  # no fake here: a service
            self.service = start_service(
                self.service_dir,
                idle_timeout=self._service_idle_timeout,
                options=self._service_options,
            )
            self._environment = ServiceEnvironment(self.service.endpoint.url, self._fake_region)
            self._environment.apply()
        try:
            if self.service is not None and self.service_dir is not None:
                self._remember_inputs(self.service, self.service_dir)
                if self._events_queue_name is not None:  # the service publishes; the rule
                    self._make_events_queue(self._events_queue_name)
            self._put_inputs()
        except BaseException:
            self._stop_here()
            raise

    def _remember_inputs(self, service: ServiceStart, service_dir: Path) -> None:
        """Record the inputs next to the service; a new service gets the recorded ones."""
        inputs_file = service_dir / INPUTS_FILE
        if self._inputs:
            recorded = {uri: str(Path(local).resolve()) for uri, local in self._inputs.items()}
            inputs_file.write_text(json.dumps(recorded, indent=1) + "\n")
        elif not service.found and inputs_file.exists():
            self._inputs = json.loads(inputs_file.read_text())  # a new service: put them again

    def _stop_here(self) -> None:
        if self._aws is not None:
            self._aws.stop()
        elif self._environment is not None:
            self._environment.restore()
            self._environment = None

    def shutdown(self) -> None:
        """Stop the fake: its jobs are killed and its state is gone. Idempotent.

        On a service, only this process lets go of it: the service and its jobs go on.
        (``stop(job_name)`` is the backend's: it stops one training job.)
        """
        self.close()
        self._stop_here()

    # -- what a dry run needs -------------------------------------------------------------------
    def _make_events_queue(self, name: str) -> None:
        """The rule and queue of status by events, in the service's account (idempotent)."""
        session = self.session()
        events, sqs = session.client("events"), session.client("sqs")
        try:
            create_events_queue(events, sqs, name)
        finally:
            events.close()
            sqs.close()

    def _put_inputs(self) -> None:
        if not self._inputs:
            return
        s3 = self.session().client("s3")
        try:
            self._upload_inputs(s3)
        finally:
            s3.close()

    def _upload_inputs(self, s3: Any) -> None:
        for uri, local in self._inputs.items():
            bucket = bucket_of(uri)
            prefix = uri[len(f"s3://{bucket}/") :].rstrip("/")
            try:
                s3.head_bucket(Bucket=bucket)
            except s3.exceptions.ClientError:
                s3.create_bucket(Bucket=bucket)
            path = Path(local)
            files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
            for file in files:
                relative = file.relative_to(path).as_posix() if path.is_dir() else file.name
                key = f"{prefix}/{relative}" if prefix else relative
                s3.upload_file(str(file), bucket, key)


def dry_run_image(job: TrainingJob, region: str) -> str:
    """The image a dry-run job names: the real one when the SageMaker SDK can look it up,
    else :data:`PLACEHOLDER_IMAGE` (the fake pulls no image, so any name will do)."""
    try:
        return training_image(job, region)
    except MissingExtraError:
        image = PLACEHOLDER_IMAGE.format(
            framework=job.framework, version=job.framework_version or "latest"
        )
        log.info("the SageMaker SDK is not installed: the fake's jobs name image %s", image)
        return image


def _service_options(options: Mapping[str, Any], region: str) -> dict[str, Any]:
    unknown = sorted(set(options) - SERVICE_OPTIONS)
    if unknown:
        raise UserError(
            f"a fake-AWS service takes only the options {sorted(SERVICE_OPTIONS)}",
            f"{unknown} with service=...",
            "Drop them, or use the fake in this process (no service=).",
        )
    plain = {k: str(v) if isinstance(v, os.PathLike) else v for k, v in options.items()}
    faults = options.get("faults")
    if isinstance(faults, Faults):
        plain["faults"] = faults_to_json(faults)
    try:
        json.dumps(plain)
    except TypeError as exc:
        raise UserError(
            "the options of a fake-AWS service must be plain values (text, numbers, mappings)",
            repr(options),
            "Pass paths as text and quotas as numbers.",
        ) from exc
    return {"region": region, **plain}
