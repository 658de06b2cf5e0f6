"""The backend seam: how the tuner runs trials, whatever runs them.

Every backend (SageMaker over boto3, the fake, the simulator) offers the same
small core, :class:`Backend`: ``open``, ``submit``, ``poll``, ``stop``,
``list_study_jobs`` and ``close``. What only some backends can do is an optional
capability, a small protocol a backend offers by having its method:

- :class:`ReadsCurves` (``read_curves``): learning curves, for early stopping;
- :class:`ReadsLogs` (``last_log_lines``): a job's last log lines, shown when its
  metric regex matched nothing;
- :class:`CopiesCheckpoints` (``copy_checkpoint``): a job started from another's
  checkpoint, for population based training and ASHA's promotion form;
- :class:`WaitsForChange` (``wait_for_change``): a wait that ends early when a job
  ended (status by events).

Two facts a backend may declare, for the study's pacing to use (the backend decides no
interval itself; :mod:`byohpo.study._pacing` does):

- :class:`KeepsTime` (``clock``): the time its jobs live in (the simulator's virtual
  clock, or a clock given to it); the study then runs on that clock;
- :class:`LimitsPolling` (``min_poll_interval``): the shortest wait between two polls
  the service it talks to allows (SageMaker's list rate; a dry run's fake, much less).

A study checks the capabilities it needs before any job (:func:`require`), and
says which one its backend lacks. The contract suite in ``tests/backends``
checks each backend.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping
from types import TracebackType
from typing import TYPE_CHECKING, Protocol, Self, runtime_checkable

from byohpo._clock import Clock, WallClock
from byohpo.errors import BackendCapabilityError, NoStudyOpenError
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


@runtime_checkable
class ReadsCurves(Protocol):
    """A backend that reads running jobs' learning curves (early stopping needs it)."""

    def read_curves(self, job_name: str) -> Mapping[str, list[tuple[float, float]]]:
        """Intermediate metric values seen so far, as ``(seconds since start, value)`` per
        metric; each call fetches only what was logged since the last."""
        ...


@runtime_checkable
class ReadsLogs(Protocol):
    """A backend that shows a job's last log lines (beside a metric regex that matched none)."""

    def last_log_lines(self, job_name: str, count: int = 10) -> list[str]:
        """The last ``count`` lines the job logged; empty when there are none to read."""
        ...


@runtime_checkable
class CopiesCheckpoints(Protocol):
    """A backend that starts a job from another job's checkpoint (PBT, ASHA's promotions)."""

    def copy_checkpoint(self, source_job: str, target_job: str) -> CheckpointCopy:
        """Copy the last checkpoint of the ended ``source_job`` to where ``target_job`` will
        start from it, verified complete; copying again is harmless (the target job must not
        exist yet). Pass the returned ``target_uri`` as the target's
        ``LaunchRequest.checkpoint_s3_uri``."""
        ...


@runtime_checkable
class WaitsForChange(Protocol):
    """A backend whose wait before the next poll ends early when a job ended (events)."""

    def wait_for_change(self, seconds: float) -> None:
        """Wait ``seconds`` on the backend's clock, or less when a job of the study ended."""
        ...


@runtime_checkable
class KeepsTime(Protocol):
    """A backend whose jobs live in a time of its own (the simulator's virtual clock)."""

    @property
    def clock(self) -> Clock:
        """The clock the study runs on with this backend."""
        ...


@runtime_checkable
class LimitsPolling(Protocol):
    """A backend that declares how often the service it talks to may be polled."""

    @property
    def min_poll_interval(self) -> float:
        """Seconds between two polls that keep within the service's rate limits."""
        ...


def clock_of(backend: object) -> Clock:
    """The clock a study runs on with ``backend``: its own, or the wall clock."""
    return backend.clock if isinstance(backend, KeepsTime) else WallClock()


Capability = type[ReadsCurves] | type[ReadsLogs] | type[CopiesCheckpoints] | type[WaitsForChange]
"""One of the optional capabilities a backend may offer."""

_METHOD = {
    ReadsCurves: "read_curves",
    ReadsLogs: "last_log_lines",
    CopiesCheckpoints: "copy_checkpoint",
    WaitsForChange: "wait_for_change",
}


def offers(backend: object, capability: Capability) -> bool:
    """Whether ``backend`` offers ``capability`` (has its method)."""
    return isinstance(backend, capability)


def capability_error(
    backend: object, capability: Capability, needed_for: str, fix: str
) -> BackendCapabilityError:
    """The error for a study that needs a capability its backend lacks.

    ``needed_for`` says what in the study needs it and why (``"early stopping reads running
    jobs' learning curves"``), ``fix`` how to do without it.
    """
    return BackendCapabilityError(
        f"{needed_for}, so it needs a backend that offers {capability.__name__} "
        f"(a {_METHOD[capability]} method)",
        f"{type(backend).__name__}, which does not",
        f"{fix}, or use a backend that can, such as SageMakerBackend, FakeSageMaker or Simulator.",
    )


def require(backend: object, capability: Capability, needed_for: str, fix: str) -> None:
    """Refuse, before any job, a study that needs a capability its backend lacks
    (:func:`capability_error` says which)."""
    if not offers(backend, capability):
        raise capability_error(backend, capability, needed_for, fix)
