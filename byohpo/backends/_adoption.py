"""Adopting a job that already exists: only if it is this trial's.

A trial's job name is deterministic (the study's prefix and the trial id), so a
second submit of the same trial, after a crash, finds its job already created
(``ResourceInUse``). The job is adopted only when its tags name this study (its
unique id and name) and this trial, and its hyperparameters are the trial's:
job names are never reusable in an account and region, and a study must never
report another study's job as its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from byohpo.backends._aws_errors import translate
from byohpo.backends._request import STUDY_TAG, TRIAL_TAG
from byohpo.backends._retry import RetryingCaller
from byohpo.errors import JobConflictError

if TYPE_CHECKING:
    from mypy_boto3_sagemaker import SageMakerClient

STUDY_ID_TAG = "byohpo:study-id"
"""The tag holding the unique id of the study a job belongs to."""


def check_adoptable(
    call: RetryingCaller,
    sm: SageMakerClient,
    name: str,
    params: Mapping[str, Any],
    tags: Mapping[str, str],
) -> None:
    """Refuse to adopt the existing job ``name`` unless it is the trial's that ``params`` (its
    CreateTrainingJob request) and ``tags`` describe: one DescribeTrainingJob, one ListTags."""
    try:
        found = call("DescribeTrainingJob", sm.describe_training_job, TrainingJobName=name)
        listed = call("ListTags", sm.list_tags, ResourceArn=found["TrainingJobArn"])
    except ClientError as exc:
        raise translate(exc, "DescribeTrainingJob", name) from exc
    theirs = {t["Key"]: t.get("Value", "") for t in listed.get("Tags", [])}
    mismatches = [
        f"{key} {theirs.get(key)!r} (this study: {tags[key]!r})"
        for key in (STUDY_ID_TAG, STUDY_TAG, TRIAL_TAG)
        if key in tags and theirs.get(key) != tags[key]
    ]
    wanted = dict(params.get("HyperParameters") or {})
    if dict(found.get("HyperParameters") or {}) != wanted:
        mismatches.append("other hyperparameters")
    if mismatches:
        raise JobConflictError(
            f"the training job {name} already exists and is not this trial's: it has "
            f"{', '.join(mismatches)}. Job names are never reusable in an account and "
            "region, so this study launched nothing more and adopted nothing. Start the "
            "study under a new name (or from a fresh store, which gives it a new id)."
        )
