"""The backend seam: how the tuner runs trials, whatever runs them.

Every backend (SageMaker over boto3, the fake, the simulator) offers the same
small interface. The contract suite in ``tests/backends`` checks each one.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Self

from byohpo.clock import Clock, WallClock
from byohpo.errors import BackendError, NoStudyOpenError
from byohpo.trial import CheckpointCopy, JobPlace, JobState, LaunchRequest

if TYPE_CHECKING:
    from byohpo.job import TrainingJob

JOB_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
"""SageMaker's rule for a training job name (at most 63 characters)."""

_TRIAL_SUFFIX_DIGITS = 5


STUDY_ID_LENGTH = 8


def new_study_id() -> str:
    """A fresh study id: 8 lowercase letters and digits (about 2.8e12 of them)."""
    alphabet = "abcdefghijklmnopqrstuvwxyz0123456789"
    return "".join(secrets.choice(alphabet) for _ in range(STUDY_ID_LENGTH))


def study_prefix(study_name: str, study_id: str | None = None) -> str:
    """The job-name prefix of a study: valid for SageMaker whatever the study is called.

    Letters, digits and single hyphens are kept; anything else becomes a
    hyphen. When that changes the name or it must be shortened, a short hash
    of the original is appended, so two studies never share a prefix. The
    study's unique id, when it has one, ends the prefix (``digits-ga-k3x9q2ma``):
    job names are never reusable in an account and region, and a new study under
    an old name must not find the old study's jobs.
    """
    cleaned = re.sub(r"[^a-zA-Z0-9]+", "-", study_name).strip("-")
    max_len = 63 - 1 - _TRIAL_SUFFIX_DIGITS - 1  # "-t" + digits, leave room for "-" join
    if study_id is not None:
        max_len -= len(study_id) + 1
    if not (cleaned == study_name and 0 < len(cleaned) <= max_len):
        digest = hashlib.sha256(study_name.encode()).hexdigest()[:6]
        cleaned = (cleaned or "study")[: max_len - len(digest) - 1].rstrip("-")
        cleaned = f"{cleaned}-{digest}"
    return cleaned if study_id is None else f"{cleaned}-{study_id}"


def job_name_for(study_name: str, trial_id: int, study_id: str | None = None) -> str:
    """The training job name of a trial: deterministic, so a resubmit finds the same job."""
    name = f"{study_prefix(study_name, study_id)}-t{trial_id:0{_TRIAL_SUFFIX_DIGITS}d}"
    assert JOB_NAME_PATTERN.match(name), name  # guaranteed by study_prefix
    return name


class Backend(ABC):
    """Runs trials as training jobs.

    Promises:

    - :meth:`submit` is idempotent: the job name is derived from the study
      name, its unique id and the trial id, and a second submit of the same trial
      (after a crash) adopts the existing job instead of launching a twin, but only
      a job of this study with the trial's hyperparameters.
    - :meth:`poll` costs a bounded number of list calls per cycle, whatever the
      number of jobs in flight, plus one describe per job that became terminal.
    - A ``Stopping`` job is reported as busy until it is ``Stopped``.
    - A backend is a context manager, and the tuner holds it for a study's run: a backend
      with an endpoint of its own to run (the dry run's fake AWS) starts it on the outermost
      entry and stops it on that entry's exit; leaving the block closes the backend.
    """

    jobs_run_in: JobPlace = JobPlace.AWS
    """Where this backend's jobs run; the study records it (console links, dry-run resume)."""

    clock: Clock = WallClock()
    """The time the tuner should use with this backend (virtual in the simulator)."""

    min_poll_interval: float = 5.0
    """Seconds between two polls that keep within the API's rate limits."""

    @abstractmethod
    def open(self, study_name: str, job: TrainingJob) -> None:
        """Prepare a study: validate the template against the account, upload the code once."""

    def job_name(self, trial_id: int) -> str:
        return job_name_for(self.study_name, trial_id, self.study_id)

    _study: str | None = None

    study_id: str | None = None
    """The study's unique id (set by the tuner before :meth:`open`): in job names and tags.
    None for a study recorded before studies had ids."""

    @property
    def study_name(self) -> str:
        """The study :meth:`open` was called with."""
        if self._study is None:
            raise NoStudyOpenError()
        return self._study

    @abstractmethod
    def submit(self, request: LaunchRequest) -> str:
        """Launch (or adopt) the trial's job; returns the job name."""

    @abstractmethod
    def poll(self, job_names: Collection[str]) -> list[JobState]:
        """The current state of each named job; terminal ones with their final details."""

    @abstractmethod
    def stop(self, job_name: str) -> None:
        """Ask the job to stop (it goes ``Stopping`` then ``Stopped``)."""

    @abstractmethod
    def list_study_jobs(self) -> list[JobState]:
        """Every job of the open study that the service knows of (to reconcile on resume)."""

    def read_curves(self, job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        """Intermediate metric values seen so far, as ``(seconds since start, value)`` per metric.

        Read incrementally: each call fetches only what was logged since the last.
        Backends without curves return an empty mapping.
        """
        return {}

    def copy_checkpoint(self, source_job: str, target_job: str) -> CheckpointCopy:
        """Copy the last checkpoint of ``source_job`` to where ``target_job`` will start from it.

        The source job must have completed (its checkpoint is final) and saved
        a checkpoint; the copy is verified complete before this returns, and
        copying again is harmless (the target job must not exist yet). Pass the
        returned ``target_uri`` as the target's ``LaunchRequest.checkpoint_s3_uri``.
        Backends that cannot warm-start jobs refuse.
        """
        raise BackendError(
            f"{type(self).__name__} cannot start a job from another job's checkpoint "
            f"({source_job} -> {target_job}); use a backend that can, such as SageMakerBackend"
        )

    def wait_for_change(self, seconds: float) -> None:
        """Wait before the next poll: ``seconds`` on :attr:`clock`, or less when the backend
        hears sooner that a job ended (status by events)."""
        self.clock.sleep(seconds)

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release clients and background work. Jobs keep running."""

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
