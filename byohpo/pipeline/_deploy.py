"""Putting a study on SageMaker Pipelines: its files in S3, the pipeline, the schedule.

:func:`deploy` is idempotent: run it again after changing the study file and it
uploads the new study file (and the code, if it changed), updates the pipeline
(UpdatePipeline) and the schedule (UpdateSchedule) instead of creating twins.

The AWS calls it makes, and so what the deploying identity needs (the stack's
``DeployerPolicy``): S3 HeadObject, PutObject (the study's prefix); SageMaker
DescribePipeline, CreatePipeline or UpdatePipeline (and AddTags on create); EventBridge
Scheduler GetSchedule, CreateSchedule or UpdateSchedule; and ``iam:PassRole`` of the
pipeline's role to SageMaker and of the scheduler's role to EventBridge Scheduler.
"""

from __future__ import annotations

import copy
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo import __version__
from byohpo._job_checks import bucket_of
from byohpo.backends._retry import error_code
from byohpo.backends._source import content_digest, pack_source
from byohpo.errors import BackendError, UserError
from byohpo.pipeline._checks import definition_problems
from byohpo.pipeline._definition import PipelineSettings, pipeline_definition, study_store
from byohpo.pipeline._study_toml import dump_study

if TYPE_CHECKING:
    import boto3

    from byohpo.study_file import StudyFile

STUDY_TAG = "byohpo:study"
SCHEDULE_GROUP = "default"
MAX_SCHEDULE_NAME = 64


@dataclass(frozen=True)
class Deployment:
    """What :func:`deploy` did."""

    pipeline_name: str
    pipeline_arn: str
    created: bool
    study_file_uri: str
    source_uri: str | None
    schedule_arn: str | None = None


def _split(uri: str) -> tuple[str, str]:
    bucket = bucket_of(uri)
    return bucket, uri[len(f"s3://{bucket}/") :]


def code_archive(study: StudyFile) -> bytes | None:
    """The study's code as ``sourcedir.tar.gz``, or None when it is in S3 already."""
    job = study.tuner_args["job"]
    if job.entry_point is None or (job.source_dir or "").startswith("s3://"):
        return None
    return pack_source(job.source_dir or job.entry_point)


def source_uri_for(archive: bytes, settings: PipelineSettings) -> str:
    return f"{settings.source_prefix}/{content_digest(archive)}/sourcedir.tar.gz"


def step_study_text(study: StudyFile, settings: PipelineSettings, source_uri: str | None) -> str:
    """The study file the step reads: the user's, with its code and store in S3."""
    tables = copy.deepcopy(study.tables)
    tables.pop("dry_run", None)
    tables["study"]["store"] = study_store(study, settings)
    job = study.tuner_args["job"]
    if source_uri is not None:
        tables["job"]["source_dir"] = source_uri
        if job.source_dir is None:
            tables["job"]["entry_point"] = Path(str(job.entry_point)).name
    header = (
        f"The study {study.name} as its pipeline step reads it.\n"
        f"Written by byohpo {__version__} (byohpo pipeline deploy) from {study.path.name}; "
        "edit that file and deploy again."
    )
    return dump_study(tables, header=header)


def client_request_token(*parts: str) -> str:
    """A token that makes a retried create idempotent: the same request, the same token."""
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def pipeline_request(
    study: StudyFile, settings: PipelineSettings, definition: dict[str, Any]
) -> dict[str, Any]:
    """The arguments of UpdatePipeline (CreatePipeline adds a token and tags)."""
    return {
        "PipelineName": settings.name,
        "PipelineDisplayName": settings.name,
        "PipelineDefinition": json.dumps(definition, sort_keys=True),
        "PipelineDescription": f"byohpo study {study.name}",
        "RoleArn": settings.execution_role,
    }


def schedule_request(settings: PipelineSettings, pipeline_arn: str) -> dict[str, Any]:
    """The arguments of CreateSchedule / UpdateSchedule: the pipeline as a templated target."""
    if settings.schedule is None or settings.scheduler_role is None:
        raise UserError("a schedule needs an expression and the scheduler's role", None)
    if len(settings.name) > MAX_SCHEDULE_NAME:
        raise UserError(
            f"a scheduled pipeline's name is at most {MAX_SCHEDULE_NAME} characters "
            "(it names the schedule too)",
            repr(settings.name),
            "Give a shorter [pipeline] name.",
        )
    return {
        "Name": settings.name,
        "GroupName": SCHEDULE_GROUP,
        "Description": f"Starts the SageMaker pipeline {settings.name} (byohpo)",
        "ScheduleExpression": settings.schedule,
        "ScheduleExpressionTimezone": settings.schedule_timezone,
        "FlexibleTimeWindow": {"Mode": "OFF"},
        "State": "ENABLED",
        "Target": {
            "Arn": pipeline_arn,
            "RoleArn": settings.scheduler_role,
            "SageMakerPipelineParameters": {"PipelineParameterList": []},
            "RetryPolicy": {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 5},
        },
    }


def _failed(exc: ClientError, operation: str, subject: str) -> BackendError:
    message = exc.response.get("Error", {}).get("Message", str(exc))
    hint = ""
    if error_code(exc) in ("AccessDenied", "AccessDeniedException"):
        hint = " (the deploying identity needs the infra/ stack's DeployerPolicy)"
    return BackendError(f"{operation} {subject} failed: {error_code(exc)}: {message}{hint}")


def _put(s3: Any, uri: str, body: bytes, *, skip_if_present: bool = False) -> None:
    bucket, key = _split(uri)
    if skip_if_present:
        try:
            s3.head_object(Bucket=bucket, Key=key)
            return
        except ClientError as exc:
            if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
                raise _failed(exc, "HeadObject", uri) from exc
    try:
        s3.put_object(Bucket=bucket, Key=key, Body=body)
    except ClientError as exc:
        raise _failed(exc, "PutObject", uri) from exc


def _upsert_pipeline(sm: Any, study: StudyFile, request: dict[str, Any]) -> tuple[str, bool]:
    name = request["PipelineName"]
    try:
        arn = sm.describe_pipeline(PipelineName=name)["PipelineArn"]
    except ClientError as exc:
        if error_code(exc) not in ("ResourceNotFound", "ValidationException"):
            raise _failed(exc, "DescribePipeline", name) from exc
    else:
        try:
            return str(sm.update_pipeline(**request).get("PipelineArn", arn)), False
        except ClientError as exc:
            raise _failed(exc, "UpdatePipeline", name) from exc
    token = client_request_token(name, request["PipelineDefinition"])
    try:
        created = sm.create_pipeline(
            **request,
            ClientRequestToken=token,
            Tags=[{"Key": STUDY_TAG, "Value": study.name}],
        )
    except ClientError as exc:
        raise _failed(exc, "CreatePipeline", name) from exc
    return str(created["PipelineArn"]), True


def _upsert_schedule(scheduler: Any, request: dict[str, Any]) -> str:
    name = request["Name"]
    try:
        scheduler.get_schedule(Name=name, GroupName=request["GroupName"])
    except ClientError as exc:
        if error_code(exc) != "ResourceNotFoundException":
            raise _failed(exc, "GetSchedule", name) from exc
        operation, call = "CreateSchedule", scheduler.create_schedule
    else:
        operation, call = "UpdateSchedule", scheduler.update_schedule
    try:
        return str(call(**request)["ScheduleArn"])
    except ClientError as exc:
        raise _failed(exc, operation, name) from exc


def deploy(
    study: StudyFile, settings: PipelineSettings, *, session: boto3.Session | None = None
) -> Deployment:
    """Upload the study (and its code), create or update its pipeline and its schedule."""
    definition = pipeline_definition(study, settings)
    problems = definition_problems(definition)
    if problems:
        raise UserError("the pipeline definition must be valid", "; ".join(problems))
    if session is None:
        import boto3

        session = boto3.Session(region_name=settings.region)
    s3 = session.client("s3")
    archive = code_archive(study)
    source_uri = None
    if archive is not None:
        source_uri = source_uri_for(archive, settings)
        _put(s3, source_uri, archive, skip_if_present=True)
    text = step_study_text(study, settings, source_uri)
    _put(s3, settings.study_file_uri, text.encode())
    arn, created = _upsert_pipeline(
        session.client("sagemaker"), study, pipeline_request(study, settings, definition)
    )
    schedule_arn = None
    if settings.schedule is not None:
        schedule_arn = _upsert_schedule(
            session.client("scheduler"), schedule_request(settings, arn)
        )
    return Deployment(
        settings.name, arn, created, settings.study_file_uri, source_uri, schedule_arn
    )
