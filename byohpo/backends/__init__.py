"""The backend layer: what runs a study's trials, and how byohpo talks to SageMaker.

A backend of your own subclasses :class:`Backend` (``open``, ``submit``, ``poll``, ``stop``,
``list_study_jobs``) and may offer the capabilities below; :class:`SageMakerBackend` is the
real one. :class:`RequestRates` sets the request pacer's rates when an account's quotas are
higher than SageMaker's defaults. The modules inside are private; these names are the
surface, imported when first used.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

_EXPORTS: dict[str, str] = {
    "Backend": "byohpo.backends._base",
    "ReadsCurves": "byohpo.backends._base",
    "ReadsLogs": "byohpo.backends._base",
    "CopiesCheckpoints": "byohpo.backends._base",
    "WaitsForChange": "byohpo.backends._base",
    "RequestRates": "byohpo.backends._rates",
    "Rate": "byohpo.backends._rates",
    "SAGEMAKER_RATES": "byohpo.backends._rates",
    "SageMakerBackend": "byohpo.backends._sagemaker",
    "JobState": "byohpo.trial",
    "LaunchRequest": "byohpo.trial",
    "CheckpointCopy": "byohpo.trial",
}

__all__ = sorted(_EXPORTS)

if TYPE_CHECKING:
    from byohpo.backends._base import (
        Backend,
        CopiesCheckpoints,
        ReadsCurves,
        ReadsLogs,
        WaitsForChange,
    )
    from byohpo.backends._rates import SAGEMAKER_RATES, Rate, RequestRates
    from byohpo.backends._sagemaker import SageMakerBackend
    from byohpo.trial import CheckpointCopy, JobState, LaunchRequest


def __getattr__(name: str) -> Any:
    module = _EXPORTS.get(name)
    if module is None:
        raise AttributeError(f"module 'byohpo.backends' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value
