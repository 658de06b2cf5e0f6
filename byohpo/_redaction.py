"""What a study never writes down: secret values in a training job's environment.

The policy. A :class:`~byohpo.job.TrainingJob`'s ``environment`` goes to SageMaker as
given (the job needs it), but the study's store keeps a value only when it looks
harmless. A value is *secret* when its variable's name says so (it contains ``SECRET``,
``TOKEN``, ``PASSWORD``, ``PASSWD``, ``PASSPHRASE``, ``CREDENTIAL``, ``PRIVATE``,
``API_KEY``/``APIKEY``, ``ACCESS_KEY``, ``AUTH`` or ``SESSION``, in any case) or when the
value itself carries a credential (a URL with a password, an AWS access key id). A
secret value is recorded as :data:`REDACTED` and its name listed under
``secret_environment`` in the study's definition. Since the results, the report and
``byohpo results`` are all rebuilt from the store, none of them can show it.

Resuming a study therefore needs the secret values again. They come from, in order:
the job given to :meth:`Tuner.resume(job=...) <byohpo.study._tuner.Tuner.resume>` (a pipeline
step re-reads its study file and passes its job), then the process environment variable
of the same name (``MY_API_TOKEN=... byohpo resume my-study``). A value found in
neither is a :class:`~byohpo.errors.UserError` naming it, before any job is launched.

Credentials of the orchestrator itself (``AWS_SECRET_ACCESS_KEY``,
``AWS_SESSION_TOKEN``, ...) are never read into a study: boto3 uses them and nothing
records them.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from typing import Any

from byohpo.errors import UserError

REDACTED = "<redacted>"
"""What the store holds in place of a secret value."""

SECRET_NAME = re.compile(
    r"SECRET|TOKEN|PASSWORD|PASSWD|PASSPHRASE|CREDENTIAL|PRIVATE|API_?KEY|ACCESS_?KEY|AUTH|SESSION",
    re.IGNORECASE,
)
_SECRET_VALUE = re.compile(r"[a-z][a-z0-9+.-]*://[^/\s:@]*:[^/\s@]+@|\b(AKIA|ASIA)[A-Z0-9]{16}\b")


def is_secret(name: str, value: str) -> bool:
    """Whether an environment variable must stay out of the study's records."""
    return bool(SECRET_NAME.search(name) or _SECRET_VALUE.search(value))


def redact_job(job_json: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A job's JSON (``TrainingJob.to_json()``) as it may be stored, and the names redacted."""
    data = dict(job_json)
    environment = dict(data.get("environment") or {})
    secret = sorted(name for name, value in environment.items() if is_secret(name, str(value)))
    data["environment"] = {
        name: (REDACTED if name in secret else value) for name, value in environment.items()
    }
    return data, secret


def restore_job(
    stored: Mapping[str, Any],
    secret_names: list[str],
    *,
    given: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The stored job's JSON with its secret values put back.

    ``given`` is the job given again (its JSON); it must be the recorded job but for
    its secret values. ``environ`` (default ``os.environ``) supplies what ``given`` does not.
    """
    environ = os.environ if environ is None else environ
    data = dict(stored)
    if given is not None:
        redacted, _ = redact_job(given)
        differ = sorted(k for k in stored if k in redacted and redacted[k] != stored[k])
        if differ:
            raise UserError(
                "the job given to resume a study must be the study's own job",
                f"differences in {', '.join(differ)}",
                "Resume with the job (or study file) the study was started with.",
            )
    given_environment = dict((given or {}).get("environment") or {})
    environment = dict(data.get("environment") or {})
    missing = []
    for name in secret_names:
        value = given_environment.get(name, environ.get(name))
        if value is None:
            missing.append(name)
        else:
            environment[name] = value
    if missing:
        raise UserError(
            "the study's job needs secret environment values that were not stored",
            ", ".join(missing),
            "Set them in the environment before resuming (e.g. "
            f"{missing[0]}=... byohpo resume <study>), or pass Tuner.resume(..., job=job).",
        )
    data["environment"] = environment
    return data
