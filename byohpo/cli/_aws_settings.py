"""AWS settings for the command line: a session with a region and credentials, or a message.

A command-line user without AWS credentials or a region gets one line saying how to
set them (``aws configure``, ``--profile``, ``--region``) or to try ``--dry-run``,
never Python advice or botocore's traceback.
"""

from __future__ import annotations

from typing import Any

from byohpo.errors import UserError

AWS_SETUP_FIX = (
    "Set up credentials with `aws configure` (or `aws sso login`), choose a profile with "
    "--profile NAME or AWS_PROFILE, or try the study on this machine with --dry-run."
)


def aws_setup_message(exc: Exception) -> str | None:
    """A message for AWS credentials or settings that are missing, or None for other errors."""
    try:
        from botocore import exceptions as aws
    except ImportError:  # pragma: no cover - boto3 is a dependency
        return None
    if isinstance(exc, aws.NoCredentialsError | aws.PartialCredentialsError):
        return f"running on SageMaker needs AWS credentials, but found none. {AWS_SETUP_FIX}"
    if isinstance(exc, aws.ProfileNotFound):
        return f"the AWS profile must exist, but got {exc}. {AWS_SETUP_FIX}"
    if isinstance(exc, aws.NoRegionError):
        return f"running on SageMaker needs an AWS region, but none is set. {REGION_FIX}"
    if isinstance(exc, aws.SSOError | aws.TokenRetrievalError):
        return f"the AWS login must be current, but got: {exc}. {AWS_SETUP_FIX}"
    return None


REGION_FIX = (
    "Give --region us-east-1 (or your region), set AWS_DEFAULT_REGION, or set a region in "
    "your AWS profile (`aws configure`); or try the study with --dry-run."
)


def aws_session(region: str | None, profile: str | None) -> Any:
    """A boto3 session with a region and credentials, or a user error saying how to get them."""
    import boto3
    from botocore.exceptions import ProfileNotFound

    try:
        session = boto3.Session(profile_name=profile, region_name=region)
    except ProfileNotFound as exc:
        raise UserError(
            "the AWS profile must exist", repr(profile), f"({exc}) {AWS_SETUP_FIX}"
        ) from None
    if not session.region_name:
        raise UserError("running on SageMaker needs an AWS region", "none set", REGION_FIX)
    if session.get_credentials() is None:
        raise UserError("running on SageMaker needs AWS credentials", "none found", AWS_SETUP_FIX)
    return session
