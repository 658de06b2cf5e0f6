"""The exceptions byohpo raises.

::

    ByohpoError
    ├── UserError (also ValueError)          a mistake in what the user asked for;
    │   │                                    raised before any job is launched
    │   ├── SearchSpaceError                 a parameter or space that cannot work
    │   ├── StrategyError                    unknown strategy, bad option, misuse of ask/tell
    │   ├── JobDefinitionError               a TrainingJob SageMaker would reject
    │   └── StudyFileError                   a study file that cannot be read
    ├── MissingExtraError (also ImportError) an optional dependency is not installed
    ├── BackendError                         SageMaker (or the fake) did not do what was asked
    │   └── CapacityError                    no instance capacity or quota left
    ├── StudyStopped                         the study was stopped on purpose (failure policy)
    └── StoreError                           the study's event log cannot be read or written

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
    """SageMaker (or the fake) refused or failed a request after the retries allowed."""


class CapacityError(BackendError):
    """No instance capacity or quota is left for another training job right now."""


class StudyStopped(ByohpoError):
    """The study stopped itself, for example because most of a generation failed the same way."""


class StoreError(ByohpoError):
    """The study's event log cannot be read or written."""


def require_extra(module: str, package: str, extra: str, purpose: str) -> object:
    """Import ``module`` or raise :class:`MissingExtraError` naming the extra to install."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as exc:
        raise MissingExtraError(package, extra, purpose) from exc
