"""The parts of a started fake AWS account, put together at its start and taken apart at its
stop: the job runner, SageMaker's training-job and tuning-job operations, fault injection,
buckets made on demand, and (optionally) the publisher of SageMaker's job events."""

from __future__ import annotations

import dataclasses
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from botocore.client import BaseClient
from botocore.exceptions import ClientError

from byohpo.fake._buckets import BucketsOnDemand, buckets_of_job
from byohpo.fake._environment import InternalClients
from byohpo.fake._events import EVENTS_QUEUE_NAME, JobEventPublisher, create_events_queue
from byohpo.fake._execution import ExecutionSettings
from byohpo.fake._faults import FaultInjector, Faults
from byohpo.fake._kept_data import KeptData
from byohpo.fake._operations import ServiceSettings, TrainingJobService
from byohpo.fake._protocol import ServiceError, decode_params, error_payload
from byohpo.fake._runner import JobRunner
from byohpo.fake._training_jobs import JobStore
from byohpo.fake._transfer import S3Transfer
from byohpo.fake._tuning_jobs import TuningJobService

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class RunnerSettings:
    """How many scripts run at once, and how long a job spends ``Starting``."""

    max_concurrent_jobs: int
    startup_seconds: float
    warm_startup_seconds: float

    @classmethod
    def of(
        cls, max_concurrent_jobs: int | None, startup_seconds: float, warm: float | None
    ) -> RunnerSettings:
        """As FakeAWS's options give them: one job a core, warm starts a sixth of cold."""
        return cls(
            max_concurrent_jobs or os.cpu_count() or 1,
            startup_seconds,
            startup_seconds / 6 if warm is None else warm,
        )


@dataclass
class AccountParts:
    """What answers and runs while the fake is active."""

    runner: JobRunner
    training_jobs: TrainingJobService
    tuning_jobs: TuningJobService
    injector: FaultInjector
    buckets: BucketsOnDemand
    publisher: JobEventPublisher | None
    kept: KeptData | None = None
    """Where the account's S3 objects and log streams are kept across restarts, if anywhere."""
    data_place: tuple[str, str] | None = None
    """The account and region whose S3 objects and log streams are kept."""

    @classmethod
    def assemble(
        cls,
        store: JobStore,
        clients: InternalClients,
        *,
        execution: ExecutionSettings,
        work_dir: Path,
        runner: RunnerSettings,
        service: ServiceSettings,
        faults: Faults,
        clock: Callable[[], float],
        events: bool,
        events_queue_name: str | None = EVENTS_QUEUE_NAME,
        kept: KeptData | None = None,
    ) -> AccountParts:
        """The parts, on the fake's own clients; nothing is started yet but the publisher.
        With ``kept``, the S3 objects and log streams kept there are put back first."""
        s3 = clients.client("s3")
        data_place = None
        if kept is not None:
            data_place = (service.account_id, clients.region)
            restored = kept.restore(s3, service.account_id, clients.region)
            logger.info("put back %d kept S3 objects and log streams", restored)
        iam = clients.client("iam")
        transfer = S3Transfer(s3)  # type: ignore[arg-type]
        injector = FaultInjector(faults, clock)
        job_runner = JobRunner(
            store,
            dataclasses.replace(execution, work_dir=work_dir),
            transfer,
            clients.client("cloudwatch"),
            max_concurrent_jobs=runner.max_concurrent_jobs,
            startup_seconds=runner.startup_seconds,
            warm_startup_seconds=runner.warm_startup_seconds,
        )
        training_jobs = TrainingJobService(
            store,
            service,
            injector,
            transfer,
            on_create=job_runner.submit,
            role_exists=lambda arn: _role_exists(iam, arn),
        )
        tuning_jobs = TuningJobService(store, service.account_id, training_jobs.create_training_job)
        publisher = None
        if events:  # SageMaker's job events, on moto's EventBridge
            events_client = clients.client("events")
            if events_queue_name is not None:
                create_events_queue(events_client, clients.client("sqs"), events_queue_name)
            publisher = JobEventPublisher(store, events_client, spot_savings=0.0)
            publisher.start()
        return cls(
            job_runner,
            training_jobs,
            tuning_jobs,
            injector,
            BucketsOnDemand(s3, clients.region),
            publisher,
            kept,
            data_place,
        )

    def answer(
        self, operation: str, region: str, body: bytes | str | None, *, create_buckets: bool
    ) -> tuple[int, dict[str, Any]] | None:
        """SageMaker's answer to one request (see :meth:`FakeAWS.answer_sagemaker`)."""
        try:
            if self.injector.throttle(operation):
                raise ServiceError("ThrottlingException", "Rate exceeded")
            params = decode_params(body)
            if operation == "CreateTrainingJob" and create_buckets:
                for bucket in buckets_of_job(params):
                    self.buckets.needed(bucket)
            result = self.training_jobs.call(operation, region, params)
            if result is None:
                result = self.tuning_jobs.call(operation, region, params)
        except ServiceError as error:
            return error.status, error_payload(error)
        except Exception:
            logger.exception("The fake SageMaker failed to answer %s", operation)
            internal = ServiceError("InternalFailure", "An internal error occurred.", status=500)
            return internal.status, error_payload(internal)
        return None if result is None else (200, result)

    def save_data(self) -> int:
        """Write the S3 objects and log streams that changed to the kept data, if any."""
        if self.kept is None or self.data_place is None:
            return 0
        try:
            return self.kept.save(*self.data_place)
        except Exception:  # a save is retried at the next check; the service must go on
            logger.exception("could not save the kept S3 objects and log streams")
            return 0

    def shutdown(self) -> None:
        """Kill every job's script and stop publishing events."""
        self.runner.shutdown()
        if self.publisher is not None:
            self.publisher.stop()


def _role_exists(iam: BaseClient, arn: str) -> bool:
    name = arn.rsplit("/", 1)[-1]
    try:
        iam.get_role(RoleName=name)  # type: ignore[attr-defined]
    except ClientError:
        return False
    return True
