"""Copying a finished training job's checkpoint prefix in S3 to where another job starts from it.

A SageMaker job reads ``CheckpointConfig.S3Uri`` into its checkpoint directory
when it starts. To warm-start a job from a parent's checkpoint, every object
under the parent's location is copied (server-side, with CopyObject) to the
new job's location before the job is created, and the copy is verified: the
new location must list exactly the parent's objects, with the same sizes.

What it costs: one ListObjectsV2 page per 1,000 objects on each side, and one
CopyObject per object (objects over 5 GiB are copied in parts).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo._job_checks import bucket_of
from byohpo.backends._aws_errors import translate
from byohpo.backends._retry import error_code
from byohpo.errors import BackendError, JobDefinitionError
from byohpo.trial import CheckpointCopy, JobStatus

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client
    from mypy_boto3_sagemaker import SageMakerClient

    from byohpo.job import TrainingJob

Caller = Callable[..., Any]
"""``call(operation, method, **kwargs)``: a retrying caller that counts requests."""

COPY_OBJECT_LIMIT = 5 * 1024**3
"""CopyObject copies objects of at most 5 GiB; larger ones are copied in parts."""


def _split(uri: str) -> tuple[str, str]:
    """Bucket and key prefix (ending in ``/``) of a checkpoint location."""
    bucket = bucket_of(uri)
    prefix = uri[len(f"s3://{bucket}") :].strip("/")
    return bucket, f"{prefix}/" if prefix else ""


def list_checkpoint(call: Caller, s3: S3Client, uri: str) -> dict[str, int]:
    """Every object under a checkpoint location: key relative to it -> size in bytes."""
    bucket, prefix = _split(uri)
    objects: dict[str, int] = {}
    kwargs: dict[str, Any] = {"Bucket": bucket, "Prefix": prefix}
    while True:
        try:
            page = call("ListObjectsV2", s3.list_objects_v2, **kwargs)
        except ClientError as exc:
            raise BackendError(
                f"ListObjectsV2 {uri} failed: {error_code(exc)}: {exc}. The credentials in use "
                "need s3:ListBucket on the checkpoint bucket."
            ) from exc
        for item in page.get("Contents", []):
            objects[item["Key"][len(prefix) :]] = int(item.get("Size", 0))
        token = page.get("NextContinuationToken")
        if not page.get("IsTruncated") or not token:
            return objects
        kwargs["ContinuationToken"] = token


def copy_checkpoint(
    call: Caller,
    s3: S3Client,
    source_uri: str,
    target_uri: str,
    *,
    kms_key_id: str | None = None,
) -> tuple[str, ...]:
    """Copy every object under ``source_uri`` to ``target_uri``; returns the relative keys.

    Raises :class:`~byohpo.errors.JobDefinitionError` when the source is empty
    (the script saves no checkpoint), :class:`~byohpo.errors.BackendError` when
    the target does not list exactly the source's objects afterwards.
    Idempotent: copying again overwrites the same objects with the same bytes.
    """
    source = list_checkpoint(call, s3, source_uri)
    if not source:
        raise JobDefinitionError(
            "a job another job starts from must have saved a checkpoint: the training script "
            "writes it to its checkpoint directory (SM_CHECKPOINT_DIR, /opt/ml/checkpoints), "
            "which SageMaker uploads to the job's checkpoint location",
            f"nothing under {source_uri}",
            "Make the script save its state there every epoch and resume from it at start "
            "(see entry_points/digits_mlp.py).",
        )
    source_bucket, source_prefix = _split(source_uri)
    target_bucket, target_prefix = _split(target_uri)
    extra: dict[str, Any] = {}
    if kms_key_id:
        extra = {"ServerSideEncryption": "aws:kms", "SSEKMSKeyId": kms_key_id}
    for key, size in sorted(source.items()):
        copy_source: Mapping[str, str] = {"Bucket": source_bucket, "Key": source_prefix + key}
        try:
            if size > COPY_OBJECT_LIMIT:
                call(
                    "CopyObject (multipart)",
                    s3.copy,
                    CopySource=copy_source,
                    Bucket=target_bucket,
                    Key=target_prefix + key,
                    ExtraArgs=extra or None,
                )
            else:
                call(
                    "CopyObject",
                    s3.copy_object,
                    CopySource=copy_source,
                    Bucket=target_bucket,
                    Key=target_prefix + key,
                    **extra,
                )
        except ClientError as exc:
            raise BackendError(
                f"copying {source_uri}/{key} to {target_uri}/{key} failed: "
                f"{error_code(exc)}: {exc}. The credentials in use need s3:GetObject on the "
                "source and s3:PutObject on the target."
            ) from exc
    copied = list_checkpoint(call, s3, target_uri)
    if copied != source:
        missing = sorted(set(source) - set(copied))
        other = sorted(k for k in copied if k in source and copied[k] != source[k])
        extra_keys = sorted(set(copied) - set(source))
        raise BackendError(
            f"the checkpoint copied from {source_uri} to {target_uri} is not complete "
            f"(missing {missing}, other sizes {other}, unexpected {extra_keys}); "
            "the job that should start from it was not launched"
        )
    return tuple(sorted(source))


def copy_job_checkpoint(
    call: Caller,
    sm: SageMakerClient,
    s3: S3Client,
    job: TrainingJob,
    source_job: str,
    target_job: str,
) -> CheckpointCopy:
    """Copy the ended ``source_job``'s checkpoint to ``<checkpoint_s3_uri>/<target_job>``.

    One DescribeTrainingJob (the source must be ``Completed``, or ``Stopped``: a job
    ASHA's promotion form paused; its ``CheckpointConfig.S3Uri`` is where it saved), then
    a server-side S3 copy verified complete (:func:`copy_checkpoint`).
    """
    if job.checkpoint_s3_uri is None:
        raise JobDefinitionError(
            "a job that starts from another job's checkpoint needs checkpoint_s3_uri",
            "TrainingJob(checkpoint_s3_uri=None)",
            "Set checkpoint_s3_uri, e.g. 's3://bucket/byohpo/checkpoints'.",
        )
    try:
        described = call(
            "DescribeTrainingJob", sm.describe_training_job, TrainingJobName=source_job
        )
    except ClientError as exc:
        raise translate(exc, "DescribeTrainingJob", source_job) from exc
    status = described.get("TrainingJobStatus")
    source_uri = (described.get("CheckpointConfig") or {}).get("S3Uri")
    ended = (JobStatus.COMPLETED.value, JobStatus.STOPPED.value)  # Stopped: a paused job
    if status not in ended or not source_uri:
        raise BackendError(
            f"{target_job} cannot start from {source_job}'s checkpoint: that job is "
            f"{status} with checkpoint location {source_uri}; only a Completed or Stopped "
            "job with a checkpoint location has a final checkpoint"
        )
    target_uri = f"{job.checkpoint_s3_uri.rstrip('/')}/{target_job}"
    keys = copy_checkpoint(call, s3, source_uri, target_uri, kms_key_id=job.kms_key_id)
    return CheckpointCopy(source_job, source_uri, target_uri, keys)
