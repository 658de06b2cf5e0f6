"""Creating training jobs: a trial's CreateTrainingJob, adopted when it exists already, and the
requests SageMaker's own tuner needs (the ``sagemaker:`` strategies).

Part of :class:`~byohpo.backends._sagemaker.SageMakerBackend` (its state lives on the backend).
A trial's job name is deterministic, so a second submit of the same trial (after a crash)
adopts the job it finds, but only one of this study with the trial's hyperparameters
(:mod:`byohpo.backends._adoption`).
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo.backends._adoption import STUDY_ID_TAG, check_adoptable
from byohpo.backends._aws_errors import translate
from byohpo.backends._request import (
    STUDY_TAG,
    TRIAL_TAG,
    create_training_job_request,
    merged_hyperparameters,
    tag_value,
)
from byohpo.backends._retry import RetryingCaller, error_code
from byohpo.trial import LaunchRequest

if TYPE_CHECKING:
    from mypy_boto3_logs import CloudWatchLogsClient
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

    from byohpo.job import TrainingJob

log = logging.getLogger("byohpo.backends.sagemaker")


class JobCreation:
    """The job-creating part of the SageMaker backend."""

    study_id: str | None
    _call: RetryingCaller
    _image: str
    _output: str
    _script_mode: dict[str, str]
    _created: dict[str, datetime]

    if TYPE_CHECKING:

        @property
        def study_name(self) -> str: ...

        def job_name(self, trial_id: int) -> str: ...

        def _template(self) -> TrainingJob: ...

        def _clients(self) -> tuple[SageMakerClient, S3Client, CloudWatchLogsClient]: ...

    def submit(self, request: LaunchRequest) -> str:
        """Launch (or adopt) the trial's job; returns the job name."""
        job, name = self._template(), self.job_name(request.trial_id)
        if name in self._created:
            return name
        checkpoint = request.checkpoint_s3_uri
        if checkpoint is None and job.checkpoint_s3_uri is not None:
            checkpoint = f"{job.checkpoint_s3_uri}/{name}"
        tags = {STUDY_TAG: tag_value(self.study_name), TRIAL_TAG: str(request.trial_id)}
        if self.study_id is not None:
            tags[STUDY_ID_TAG] = self.study_id
        tags.update(job.tags)
        params = create_training_job_request(
            job,
            job_name=name,
            image=self._image,
            output_path=self._output,
            hyperparameters=merged_hyperparameters(
                job, request.hyperparameters, self._script_mode, name
            ),
            tags=tags,
            checkpoint_s3_uri=checkpoint,
        )
        sm = self._clients()[0]
        try:
            self._call("CreateTrainingJob", sm.create_training_job, **params)
        except ClientError as exc:
            if error_code(exc) != "ResourceInUse":
                raise translate(exc, "CreateTrainingJob", name) from exc
            check_adoptable(self._call, sm, name, params, tags)
            log.info("job %s already exists (an earlier submit of this trial): adopting it", name)
        self._created[name] = datetime.now(UTC)
        return name

    # -- SageMaker's own tuner (the ``sagemaker:`` strategies) -------------------------------
    def training_job_definition(self) -> dict[str, Any]:
        """The open study's template as a tuning job's ``TrainingJobDefinition``: what each
        trial's CreateTrainingJob carries, less its name, tuned values and tags."""
        job = self._template()
        request = create_training_job_request(
            job,
            job_name=self.job_name(0),
            image=self._image,
            output_path=self._output,
            hyperparameters=merged_hyperparameters(job, {}, self._script_mode, self.job_name(0)),
            tags={},
            checkpoint_s3_uri=job.checkpoint_s3_uri,
        )
        for key in ("TrainingJobName", "Tags"):
            request.pop(key)
        static = request.pop("HyperParameters")
        static.pop("sagemaker_job_name", None)  # SageMaker names each job of a tuning job
        request["StaticHyperParameters"] = static
        return request

    def request(self, operation: str, **params: Any) -> Mapping[str, Any]:
        """One SageMaker request by operation name, retried as every request is; a refusal
        becomes a :class:`~byohpo.errors.BackendError` (or ``JobDefinitionError``)."""
        sm = self._clients()[0]
        methods = {api: method for method, api in sm.meta.method_to_api_mapping.items()}
        try:
            answer: Mapping[str, Any] = self._call(
                operation, getattr(sm, methods[operation]), **params
            )
        except ClientError as exc:
            raise translate(exc, operation, str(next(iter(params.values()), ""))) from exc
        return answer
