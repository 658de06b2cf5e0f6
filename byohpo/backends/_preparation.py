"""Preparing a study's account when it opens: its output bucket, its input data, its code.

What it costs, once per study (and nothing new on resume): without an
``output_path``, one GetCallerIdentity and one HeadBucket (plus a CreateBucket
the first time) for the SageMaker SDK's default bucket; one ListObjectsV2 per
input channel, to refuse an empty or unreadable channel before any job; one
HeadObject, and one PutObject when the study's code is new, for the code
archive, stored under its content digest so the same code is uploaded once.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo._job_checks import bucket_of
from byohpo.backends._aws_errors import translate
from byohpo.backends._retry import RetryingCaller, client_config, error_code
from byohpo.backends._source import content_digest, pack_source
from byohpo.errors import JobDefinitionError
from byohpo.job import TrainingJob

if TYPE_CHECKING:
    import boto3
    from mypy_boto3_s3 import S3Client

log = logging.getLogger(__name__)


def default_output_path(
    call: RetryingCaller, session: boto3.Session, s3: S3Client, region: str
) -> str:
    """``s3://sagemaker-<region>-<account>/byohpo``, the SDK's default bucket (made if need be)."""
    sts = session.client("sts", region_name=region, config=client_config())
    try:
        identity = call("GetCallerIdentity", sts.get_caller_identity)
    finally:
        sts.close()
    bucket = f"sagemaker-{region}-{identity['Account']}"
    _ensure_bucket(call, s3, bucket, region)
    return f"s3://{bucket}/byohpo"


def _ensure_bucket(call: RetryingCaller, s3: S3Client, bucket: str, region: str) -> None:
    try:
        call("HeadBucket", s3.head_bucket, Bucket=bucket)
        return
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchBucket", "NotFound"):
            raise translate(exc, "HeadBucket", bucket) from exc
    kwargs: dict[str, Any] = {"Bucket": bucket}
    if region != "us-east-1":
        kwargs["CreateBucketConfiguration"] = {"LocationConstraint": region}
    try:
        call("CreateBucket", s3.create_bucket, **kwargs)
    except ClientError as exc:
        if error_code(exc) not in ("BucketAlreadyOwnedByYou",):
            raise translate(exc, "CreateBucket", bucket) from exc


def check_input_data(call: RetryingCaller, s3: S3Client, job: TrainingJob) -> None:
    """Refuse, before any job, an input channel that cannot be read or holds nothing."""
    for channel, uri in job.inputs.items():
        bucket = bucket_of(uri)
        prefix = uri[len(f"s3://{bucket}/") :]
        try:
            page = call(
                "ListObjectsV2", s3.list_objects_v2, Bucket=bucket, Prefix=prefix, MaxKeys=1
            )
        except ClientError as exc:
            raise JobDefinitionError(
                f"input channel {channel!r} must be readable S3 data",
                f"{uri} ({error_code(exc)})",
                "Check the bucket name and that your AWS credentials can read it.",
            ) from exc
        if not page.get("KeyCount"):
            raise JobDefinitionError(
                f"input channel {channel!r} must hold data: SageMaker fails a job whose "
                "channel is empty",
                f"no object under {uri}",
                "Upload the data first, or fix the URI.",
            )


def upload_code(call: RetryingCaller, s3: S3Client, job: TrainingJob, output: str) -> str:
    """The S3 URI of the study's ``sourcedir.tar.gz`` under ``output``, uploaded if not there
    yet (an S3 ``source_dir`` is used as it is)."""
    if job.source_dir is not None and job.source_dir.startswith("s3://"):
        return job.source_dir
    archive = pack_source(job.source_dir or job.entry_point or "")
    uri = f"{output}/source/{content_digest(archive)}/sourcedir.tar.gz"
    bucket = bucket_of(uri)
    key = uri[len(f"s3://{bucket}/") :]
    try:
        call("HeadObject", s3.head_object, Bucket=bucket, Key=key)
        return uri  # same content already uploaded (a resumed study)
    except ClientError as exc:
        if error_code(exc) not in ("404", "NoSuchKey", "NotFound"):
            raise translate(exc, "HeadObject", uri) from exc
    extra: dict[str, Any] = {}
    if job.kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": job.kms_key_id}
    try:
        call("PutObject", s3.put_object, Bucket=bucket, Key=key, Body=archive, **extra)
    except ClientError as exc:
        raise translate(exc, "PutObject", uri) from exc
    log.info("uploaded the study's code to %s", uri)
    return uri
