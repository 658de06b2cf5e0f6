"""The exceptions byohpo raises.

::

    ByohpoError
    ├── UserError (also ValueError)          a mistake in what the user asked for;
    │   │                                    raised before any job is launched
    │   ├── SearchSpaceError                 a parameter or space that cannot work
    │   ├── StrategyError                    unknown strategy, bad option, misuse of ask/tell
    │   ├── JobDefinitionError               a TrainingJob SageMaker would reject
    │   ├── StudyFileError                   a study file that cannot be read
    │   ├── StudyBusyError                   another live process runs the study
    │   ├── BackendCapabilityError           the study needs what its backend cannot do
    │   └── DamagedStudyError                resume refused: the log lost lines
    ├── MissingExtraError (also ImportError) an optional dependency is not installed
    ├── BackendError                         SageMaker (or the fake) did not do what was asked;
    │   │                                    carries operation, job_name and AWS error code
    │   ├── CapacityError                    no instance capacity or quota left
    │   ├── JobConflictError                 a job of the trial's name belongs to another study
    │   └── NoStudyOpenError (also RuntimeError)  a backend used before a study opened it
    ├── StudyStopped                         the study was stopped on purpose (failure policy)
    ├── NoCompletedTrialError (also LookupError)  no trial completed, so no best one
    └── StoreError                           the study's event log cannot be read or written
        ├── ConcurrentWriterError            another process writes the same S3 log
        ├── DamagedLogError (also ValueError)     a line of the log cannot be read
        ├── NewerLogError (also ValueError)  the log was written by a newer byohpo
        └── StoreAccessError (also UserError)    permissions or disk space

Every user mistake carries a message in three parts: what must hold, what was
given, and how to fix it. The command line turns ``UserError`` into exit
status 2 with that message and no traceback.
"""

from __future__ import annotations


class ByohpoError(Exception):
    """Base class of every exception byohpo raises on purpose."""


class UserError(ByohpoError, ValueError):
    """Something the user asked for cannot work; nothing was launched because of it."""

    def __init__(self, must: str, got: object = None, fix: str | None = None) -> None:
        self.must = must
        self.got = got
        self.fix = fix
        message = must
        if got is not None:
            message += f", but got {got}"
        message += "."
        if fix:
            message += f" {fix}"
        super().__init__(message)


class SearchSpaceError(UserError):
    """A parameter or search space that cannot be searched."""


class StrategyError(UserError):
    """An unknown strategy, an option it does not take, or ask/tell used wrongly."""


class JobDefinitionError(UserError):
    """A training-job template that SageMaker would reject.

    ``field`` names the TrainingJob field at fault, when one is.
    """

    field: str | None = None


class StudyFileError(UserError):
    """A study file that is missing, malformed, or asks for something impossible."""

    def __init__(
        self,
        must: str,
        got: object = None,
        fix: str | None = None,
        *,
        path: str | None = None,
        key: str | None = None,
    ) -> None:
        self.path = path
        self.key = key
        where = ""
        if path:
            where = f"{path}: " if not key else f"{path}: [{key}] "
        elif key:
            where = f"[{key}] "
        super().__init__(where + must, got, fix)


class MissingExtraError(ByohpoError, ImportError):
    """An optional dependency is needed; the message names the ``pip install`` that fixes it."""

    def __init__(self, package: str, extra: str, purpose: str) -> None:
        super().__init__(
            f"{purpose} needs the '{package}' package, which is not installed. "
            f"Install it with: pip install 'byohpo[{extra}]'"
        )
        self.package = package
        self.extra = extra


class BackendError(ByohpoError):
    """SageMaker (or the fake) refused or failed a request after the retries allowed.

    ``operation`` is the API call (``"CreateTrainingJob"``), ``job_name`` the
    training job it was about, and ``code`` AWS's error code
    (``"ValidationException"``), each None when not known.
    """

    def __init__(
        self,
        message: str,
        *,
        operation: str | None = None,
        job_name: str | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.operation = operation
        self.job_name = job_name
        self.code = code


class CapacityError(BackendError):
    """No instance capacity or quota is left for another training job right now."""


class JobConflictError(BackendError):
    """A job of the trial's name exists but belongs to another study or trial."""


class NoStudyOpenError(BackendError, RuntimeError):
    """A backend was asked about a study's jobs before a study opened it (``open``)."""

    def __init__(self) -> None:
        super().__init__("No study is open: call open(study_name, job) first.")


class StudyStopped(ByohpoError):
    """The study stopped itself, for example because most of a generation failed the same way."""


class NoCompletedTrialError(ByohpoError, LookupError):
    """The study has no completed trial with a value for every objective, so no best trial."""


class StudyBusyError(UserError):
    """The study is being run by another live process."""


class BackendCapabilityError(UserError):
    """The study needs something its backend cannot do (read curves, copy checkpoints)."""


class DamagedStudyError(UserError):
    """The study's log has lines that cannot be read; resuming could lose or repeat work."""


class StoreError(ByohpoError):
    """The study's event log cannot be read or written."""


class ConcurrentWriterError(StoreError):
    """Another process is running the same study and writing its log."""


class DamagedLogError(StoreError, ValueError):
    """A line of a study's log cannot be read."""


class NewerLogError(StoreError, ValueError):
    """The log was written by a newer byohpo than this one."""


class StoreAccessError(StoreError, UserError):
    """The study's log or directory cannot be read or written (permissions, disk space)."""


def require_extra(module: str, package: str, extra: str, purpose: str) -> object:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(package, extra, purpose) from exc
