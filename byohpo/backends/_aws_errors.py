"""What an AWS refusal means to a study: byohpo's exceptions for botocore's ``ClientError``.

``ResourceLimitExceeded`` is a :class:`~byohpo.errors.CapacityError` (run fewer jobs at
once); a ``ValidationException`` on a Create request is a
:class:`~byohpo.errors.JobDefinitionError` (a user mistake: the study should stop); a denial
says which permission is missing; anything else is a
:class:`~byohpo.errors.BackendError` with its operation, job name and AWS error code.
"""

from __future__ import annotations

from botocore.exceptions import ClientError

from byohpo.backends._retry import error_code
from byohpo.errors import BackendError, CapacityError, JobDefinitionError


def translate(exc: ClientError, operation: str, subject: str) -> Exception:
    """The exception to raise for ``exc``, an answer to ``operation`` on ``subject`` (a job
    name, a bucket, a URI)."""
    code = error_code(exc)
    message = exc.response.get("Error", {}).get("Message", str(exc))
    fields = {
        "operation": operation,
        "job_name": subject if operation.endswith("TrainingJob") else None,
        "code": code,
    }
    if code == "ResourceLimitExceeded":
        return CapacityError(
            f"{operation} {subject}: {message} (no capacity or quota left for another job; "
            "run fewer jobs at once, or ask for a higher quota in Service Quotas)",
            **fields,
        )
    if code == "ValidationException" and operation.startswith("Create"):
        return JobDefinitionError(
            "SageMaker must accept the training job", message, "Fix the job template."
        )
    if code in ("AccessDenied", "AccessDeniedException"):
        return BackendError(
            f"{operation} {subject} was denied: {message}. The credentials in use need "
            "permission for it (and iam:PassRole on the job's role).",
            **fields,
        )
    return BackendError(f"{operation} {subject} failed: {code}: {message}", **fields)
