"""The fake AWS of a command-line dry run: a service next to the study's store.

``byohpo run STUDY.toml --dry-run`` starts the fake AWS in a background process whose
state directory is ``<store>/fake-aws/``; ``byohpo resume``, ``stop`` and ``status`` of
that study find it there. So a dry run behaves as a cloud run when the orchestrator is
interrupted or killed: the jobs go on, and a resumed study collects them. The service ends
by itself once idle (``$BYOHPO_FAKE_IDLE_TIMEOUT`` seconds, default five minutes, with no
job running and no request).

If the service is gone when a study resumes (the machine restarted), its jobs, logs and
S3 data went with it: a new service is started, the inputs are put in its S3 again, and
the jobs that were in flight are recorded as lost (failed), so the study goes on without
waiting for results that will never come.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Mapping
from pathlib import Path

from byohpo.errors import UserError
from byohpo.fake import FakeSageMaker
from byohpo.fake.service_client import (
    DEFAULT_IDLE_TIMEOUT,
    ServiceState,
    find_service,
    read_state,
)
from byohpo.study.store import Store, StudyLog
from byohpo.trial import JobStatus

SERVICE_DIR = "fake-aws"
IDLE_TIMEOUT_VARIABLE = "BYOHPO_FAKE_IDLE_TIMEOUT"
LOST = "lost: the fake AWS of this dry run ended before the job's result was collected"


def service_dir(location: str, study_name: str) -> Path:
    """Where a dry-run study's fake-AWS service keeps its state: ``<store>/fake-aws``.

    A study stored in S3 keeps it under the local studies directory instead.
    """
    if location.startswith("s3://"):
        from byohpo.study.tuner import studies_dir

        return studies_dir() / study_name / SERVICE_DIR
    return Path(location) / SERVICE_DIR


def idle_timeout() -> float:
    """Seconds an idle service waits before it ends: ``$BYOHPO_FAKE_IDLE_TIMEOUT`` or 300."""
    text = os.environ.get(IDLE_TIMEOUT_VARIABLE, "")
    if not text:
        return DEFAULT_IDLE_TIMEOUT
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if value < 0:
        raise UserError(
            f"{IDLE_TIMEOUT_VARIABLE} must be a number of seconds >= 0 (0: never)",
            repr(text),
            f"Set it to 600 for ten minutes, or unset it for {DEFAULT_IDLE_TIMEOUT:g} seconds.",
        )
    return value


def dry_run_backend(
    location: str, study_name: str, inputs: Mapping[str, str | Path] | None = None
) -> FakeSageMaker:
    """The backend of a dry-run study: the fake SageMaker on the study's service."""
    return FakeSageMaker(
        inputs=dict(inputs or {}),
        service=service_dir(location, study_name),
        service_idle_timeout=idle_timeout(),
    )


def in_flight(log: StudyLog) -> list[int]:
    """Trials whose job was created and whose result is not recorded."""
    return sorted(
        tid
        for tid, t in log.trials.items()
        if t.submitted and not t.has_result and t.job_name and t.duplicate_of is None
    )


def record_lost_jobs(store: Store, backend: FakeSageMaker) -> list[int]:
    """If the study's earlier service is gone, record its jobs in flight as lost; say so.

    Returns the trials recorded. Nothing is recorded when the service was found running
    (its jobs are all there) or when no job was in flight.
    """
    start = backend.service
    if start is None or start.found:
        return []
    log = store.load()
    lost = in_flight(log)
    if not lost:
        return []
    now = time.time()
    store.record(
        *[
            {
                "event": "result",
                "trial_id": tid,
                "status": JobStatus.FAILED.value,
                "metrics": {},
                "failure_reason": LOST,
                "start_time": log.trials[tid].start_time,
                "end_time": None,
                "billable_seconds": log.trials[tid].billable_seconds,
                "time": now,
            }
            for tid in lost
        ]
    )
    jobs = ", ".join(str(log.trials[tid].job_name) for tid in lost)
    print(
        f"byohpo: the fake AWS of this dry run is gone ({_how_it_ended(start.previous)}); its "
        "jobs, logs and S3 data went with it. A new one was started, with the dry-run inputs put "
        f"in its S3 again. The {len(lost)} jobs that were in flight ({jobs}) are recorded as "
        "lost (failed) and the study goes on.",
        file=sys.stderr,
    )
    return lost


def _how_it_ended(previous: ServiceState | None) -> str:
    if previous is None:
        return "no record of it is left"
    return previous.describe_end()


def service_status(location: str, study_name: str) -> str:
    """One line on the study's fake-AWS service, for ``byohpo status``."""
    directory = service_dir(location, study_name)
    endpoint = find_service(directory)
    if endpoint is not None:
        try:
            jobs = endpoint.status().get("jobs", {})
        except (OSError, ValueError):
            jobs = {}
        counts = ", ".join(f"{status}: {count}" for status, count in sorted(jobs.items()))
        return (
            f"fake AWS (dry run): running at {endpoint.url} (pid {endpoint.pid}); "
            f"its jobs: {counts or 'none'}"
        )
    state = read_state(directory)
    if state is None:
        return "fake AWS (dry run): not running"
    return f"fake AWS (dry run): not running; {state.describe_end()}"
