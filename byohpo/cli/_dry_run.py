"""The fake AWS of a command-line dry run: a service next to the study's store.

``byohpo run STUDY.toml --dry-run`` starts the fake AWS in a background process whose
state directory is ``<store>/fake-aws/``; ``byohpo resume``, ``stop`` and ``status`` of
that study find it there. So a dry run behaves as a cloud run when the orchestrator is
interrupted or killed: the jobs go on, and a resumed study collects them. The service ends
by itself once idle (``$BYOHPO_FAKE_IDLE_TIMEOUT`` seconds, default five minutes, with no
job running and no request).

The service keeps its jobs on disk (:mod:`byohpo.fake._job_journal`): if it is gone when a
study resumes (it idled out, or the machine restarted), a new one is started in the same
directory, answers for the jobs that ended as before (their S3 data, checkpoints and logs
included: :mod:`byohpo.fake._kept_data`), and reports the jobs that were still running as
failed by an internal error, which the study retries. Only a job the new
service has no record of at all is recorded here as lost (failed), so the study goes on
without waiting for a result that will never come. The inputs are put in the new
service's S3 again, and the faults of ``--faults`` or ``[dry_run.faults]`` apply again.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import time
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from byohpo.errors import UserError
from byohpo.fake import FakeSageMaker
from byohpo.fake._fault_settings import describe_faults, faults_from_json, faults_to_json
from byohpo.fake._faults import Faults
from byohpo.fake._service_client import (
    DEFAULT_IDLE_TIMEOUT,
    ServiceState,
    find_service,
    read_state,
)
from byohpo.study._store import Store, StudyLog
from byohpo.trial import JobPlace, JobStatus

SERVICE_DIR = "fake-aws"
IDLE_TIMEOUT_VARIABLE = "BYOHPO_FAKE_IDLE_TIMEOUT"
FAULTS_FILE = "faults.json"
"""In the service's directory: the faults of the dry run, for a service started on resume."""
LOST = "lost: the fake AWS of this dry run has no record of the job (its state was removed)"


def service_dir(location: str, study_name: str) -> Path:
    """Where a dry-run study's fake-AWS service keeps its state: ``<store>/fake-aws``.

    A study stored in S3 keeps it under the local studies directory instead.
    """
    if location.startswith("s3://"):
        from byohpo.study._tuner import studies_dir

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
    location: str,
    study_name: str,
    inputs: Mapping[str, str | Path] | None = None,
    faults: Faults | None = None,
    events_queue: str | None = None,
) -> FakeSageMaker:
    """The backend of a dry-run study: the fake SageMaker on the study's service.

    ``faults`` are remembered beside the service, so a service started when the study
    resumes rehearses the same storm; without them, the remembered ones apply. With
    ``events_queue`` (a queue URL, as on SageMaker, or a name), the study learns of its jobs'
    ends from a queue of that name in the fake AWS, as it would from the stack's queue.
    """
    directory = service_dir(location, study_name)
    faults_file = directory / FAULTS_FILE
    if faults is not None:
        directory.mkdir(parents=True, exist_ok=True)
        faults_file.write_text(json.dumps(faults_to_json(faults), indent=1) + "\n")
    elif faults_file.exists():
        faults = faults_from_json(json.loads(faults_file.read_text()))
    options: dict[str, Any] = {"faults": faults} if faults is not None else {}
    return FakeSageMaker(
        inputs=dict(inputs or {}),
        service=directory,
        service_idle_timeout=idle_timeout(),
        events=events_queue or False,
        **options,
    )


def faults_line(faults: Faults) -> str:
    """What the dry run rehearses, for the user to see before it starts."""
    return f"byohpo: dry run under injected faults: {describe_faults(faults)}"


def dry_run_faults(text: str | None, dry_run: bool, from_file: Faults | None) -> Faults | None:
    """The faults a dry run rehearses: ``--faults``, else the study file's; checked first."""
    from byohpo.fake._fault_settings import faults_from_text

    faults = faults_from_text(text) if text is not None else from_file
    if text is not None and not dry_run:
        raise UserError(
            "--faults injects faults into the fake AWS of a dry run, so it needs --dry-run",
            f"--faults {text} without --dry-run",
            "Add --dry-run (SageMaker's own faults need no rehearsal flag).",
        )
    if faults is not None and dry_run:
        print(faults_line(faults), file=sys.stderr)
    return faults if dry_run else None


def recorded_dry_run(study: dict[str, Any], command: str, name: str) -> bool:
    """Whether a recorded study ran on a dry run's fake AWS; a simulated one cannot go on."""
    place = JobPlace.recorded(study)
    if place is JobPlace.VIRTUAL:
        raise UserError(
            f"`byohpo {command}` needs a study whose jobs ran on SageMaker or on a dry run's "
            "fake AWS",
            f"{name!r}, a study of the simulator (its jobs ran in virtual time)",
            "Run it again with byohpo.Simulator from Python.",
        )
    return place is JobPlace.FAKE_AWS


@contextlib.contextmanager
def study_backend(
    *,
    dry_run: bool,
    inputs: dict[str, Path],
    location: str,
    name: str,
    region: str | None = None,
    profile: str | None = None,
    faults: Faults | None = None,
    events_queue: str | None = None,
) -> Iterator[Any]:
    """The study's backend; a dry run's is the fake AWS service next to the study's store."""
    if not dry_run:
        from byohpo.backends._sagemaker import SageMakerBackend
        from byohpo.cli._aws_settings import aws_session

        backend = SageMakerBackend(aws_session(region, profile), events_queue=events_queue)
        try:
            yield backend
        finally:
            backend.close()
        return
    fake = dry_run_backend(location, name, inputs, faults, events_queue)  # started by the study
    try:
        yield fake
    finally:
        fake.shutdown()


def in_flight(log: StudyLog) -> list[int]:
    """Trials whose job was created and whose result is not recorded."""
    return sorted(
        tid
        for tid, t in log.trials.items()
        if t.submitted and not t.has_result and t.job_name and t.duplicate_of is None
    )


def record_lost_jobs(store: Store, backend: FakeSageMaker) -> list[int]:
    """If the study's earlier service is gone, record the jobs in flight that the new one
    has no record of as lost; say so. Returns the trials recorded.

    Nothing is recorded when the service was found running (its jobs are all there), or for
    a job the new service remembers (it answers for it: ended, or failed by its end).
    """
    start = backend.service
    if start is None or start.found:
        return []
    log = store.load()
    flying = in_flight(log)
    if not flying:
        return []
    known = _known_jobs(backend, [str(log.trials[tid].job_name) for tid in flying])
    lost = [tid for tid in flying if str(log.trials[tid].job_name) not in known]
    remembered = len(flying) - len(lost)
    print(
        f"byohpo: the fake AWS of this dry run is gone ({_how_it_ended(start.previous)}); a "
        f"new one was started, with the dry-run inputs put in its S3 again. It remembers "
        f"{remembered} of the {len(flying)} jobs that were in flight (a job still running "
        "when the old one ended is reported failed, and retried), with their S3 data and "
        "logs.",
        file=sys.stderr,
    )
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
        f"byohpo: the new fake AWS has no record of {len(lost)} jobs ({jobs}): they are "
        "recorded as lost (failed) and the study goes on.",
        file=sys.stderr,
    )
    return lost


def _known_jobs(backend: FakeSageMaker, names: list[str]) -> set[str]:
    """The named jobs the (started) fake answers for."""
    from botocore.exceptions import ClientError

    sagemaker: Any = backend.session().client("sagemaker")
    known: set[str] = set()
    try:
        for name in names:
            try:
                sagemaker.describe_training_job(TrainingJobName=name)
            except ClientError:
                continue
            known.add(name)
    finally:
        sagemaker.close()
    return known


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
