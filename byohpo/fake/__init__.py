"""A dry run of a study: the SageMaker backend against a fake AWS in this process.

:class:`FakeSageMaker` is the backend to hand to the tuner for a dry run. It
owns a :class:`~byohpo.fake.aws.FakeAWS`: moto answers S3, CloudWatch Logs,
IAM and STS, and byohpo's own training-job service answers SageMaker, running
each job's entry point locally as the framework container would. The backend
is the production one (:class:`~byohpo.backends.sagemaker.SageMakerBackend`)
talking boto3 to the fake, so a dry run exercises the same code as a cloud run.

moto is imported when the fake starts, not when this module is imported.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from byohpo.backends.retry import RetryPolicy
from byohpo.backends.sagemaker import SageMakerBackend
from byohpo.errors import MissingExtraError
from byohpo.fake.faults import FailureKind, Faults
from byohpo.job import TrainingJob
from byohpo.job_checks import bucket_of

if TYPE_CHECKING:
    import boto3

    from byohpo.fake.aws import FakeAWS

__all__ = ["FailureKind", "FakeSageMaker", "Faults"]

log = logging.getLogger(__name__)

PLACEHOLDER_IMAGE = "byohpo-fake/{framework}:{version}"
"""The image a job names on the fake when its framework image cannot be looked up (the
SageMaker SDK is not installed). The fake pulls no image, so any name will do."""


class FakeSageMaker(SageMakerBackend):
    """The SageMaker backend on a fake AWS: a dry run needs no account and no setup.

    Use it as a context manager, so that every boto3 client created inside the
    block talks to the fake (as with moto's ``mock_aws``)::

        with byohpo.FakeSageMaker() as fake:
            byohpo.Tuner(job, space, backend=fake, ...).run()

    or hand it to the tuner as it is: the fake then starts when the study
    opens and shuts down when it closes. :meth:`start` and :meth:`shutdown`
    do the same by hand.

    What it does for a dry run that the real service would not:

    - every bucket named by the job (``output_path``, inputs, checkpoints, an
      S3 ``source_dir``) is created in the fake S3 if missing;
    - ``inputs`` maps S3 URIs to local files or directories put in the fake
      S3 when it starts, e.g. ``{"s3://bucket/digits/train": "data/train"}``,
      for a job whose input channels must hold data;
    - a job given by ``framework`` gets a placeholder image name when the
      SageMaker SDK is not installed to look the real one up
      (:data:`PLACEHOLDER_IMAGE`): the fake pulls no image;
    - polling is not rate-limited and may be frequent (``min_poll_interval``
      0.2 s), since the fake's jobs take seconds.

    ``aws_options`` go to :class:`~byohpo.fake.aws.FakeAWS`: ``python`` (the
    interpreter that runs scripts), ``max_concurrent_jobs``,
    ``startup_seconds``, ``instant`` and ``metrics_fn`` (no script runs; the
    metrics come from the function), ``instant_training_seconds``, ``faults``
    (:class:`~byohpo.fake.faults.Faults`: throttling, capacity errors,
    failing jobs, ...), ``instance_quota``, ``work_dir``, ...
    """

    def __init__(
        self,
        *,
        region: str = "us-east-1",
        inputs: Mapping[str, str | Path] | None = None,
        retry: RetryPolicy | None = None,
        min_poll_interval: float = 0.2,
        list_calls_per_second: float | None = None,
        **aws_options: Any,
    ) -> None:
        super().__init__(
            region=region,
            retry=retry,
            min_poll_interval=min_poll_interval,
            list_calls_per_second=list_calls_per_second,
        )
        self._inputs = dict(inputs or {})
        self._started_by_open = False
        try:
            from byohpo.fake.aws import FakeAWS
        except ImportError as exc:  # pragma: no cover - boto3 is a core dependency
            raise MissingExtraError("moto", "fake", "The fake SageMaker (dry runs)") from exc
        self.aws: FakeAWS = FakeAWS(region=region, **aws_options)
        """The fake AWS account: its jobs, its call counts, its faults."""

    # -- the fake's lifetime ------------------------------------------------------------------
    def __enter__(self) -> FakeSageMaker:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    @property
    def active(self) -> bool:
        return self.aws.active

    def start(self) -> None:
        """Start the fake AWS (idempotent); boto3 clients created from now on talk to it."""
        if self.aws.active:
            return
        self.aws.start()
        try:
            self._put_inputs()
        except BaseException:
            self.aws.stop()
            raise

    def shutdown(self) -> None:
        """Stop the fake: its jobs are killed and its state is gone. Idempotent.

        (``stop(job_name)`` is the backend's: it stops one training job.)
        """
        super().close()
        self._started_by_open = False
        self.aws.stop()

    def open(self, study_name: str, job: TrainingJob) -> None:
        if not self.aws.active:
            self.start()
            self._started_by_open = True
        super().open(study_name, job)

    def close(self) -> None:
        """Drop the clients; stop the fake too if :meth:`open` started it."""
        super().close()
        if self._started_by_open:
            self.shutdown()

    # -- what a dry run needs -------------------------------------------------------------------
    def _make_session(self) -> boto3.Session:
        return self.aws.session()

    def _training_image(self, job: TrainingJob, region: str) -> str:
        try:
            return super()._training_image(job, region)
        except MissingExtraError:
            image = PLACEHOLDER_IMAGE.format(
                framework=job.framework, version=job.framework_version or "latest"
            )
            log.info("the SageMaker SDK is not installed: the fake's jobs name image %s", image)
            return image

    def _prepare_buckets(self, job: TrainingJob, output_path: str) -> None:
        uris = [output_path, *job.inputs.values()]
        uris += [u for u in (job.checkpoint_s3_uri, job.source_dir) if u and u.startswith("s3://")]
        for bucket in dict.fromkeys(bucket_of(uri) for uri in uris):
            self._ensure_bucket(bucket, self.aws.region)

    def _put_inputs(self) -> None:
        if not self._inputs:
            return
        s3 = self.aws.session().client("s3")
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
